"""A tiny customer database: import, look-up and statistics."""
