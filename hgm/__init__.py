"""hgm: open-ended self-improvement of coding agents (a Huxley-Gödel Machine)."""

__version__ = "0.1.0"
