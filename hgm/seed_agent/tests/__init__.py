"""The agent's self-check: `python3 -m unittest discover -s tests -t .` from the agent root."""
