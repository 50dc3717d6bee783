"""A small coding agent: an LLM calling tools in a loop until the task is done."""
