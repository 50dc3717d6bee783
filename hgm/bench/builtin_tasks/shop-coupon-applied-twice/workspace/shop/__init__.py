"""A small web shop's pricing core. Amounts are integer cents."""
