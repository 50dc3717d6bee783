"""Small helpers shared by our command-line tools."""
