"""A small package manager: version constraints, a resolver and an installer plan."""
