"""Order handling for the web shop."""
