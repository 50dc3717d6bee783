"""Cellular automata in the Game of Life family, on bounded or wrapping boards."""
