"""A chat bot framework: commands, per-channel aliases and a dispatcher."""
