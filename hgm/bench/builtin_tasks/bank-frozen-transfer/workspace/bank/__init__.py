"""A tiny core-banking model: accounts, a journal of postings, tellers and transfers."""
