"""Backward-compatible re-exports; new code imports from toolkit.text and toolkit.numeric."""

from toolkit.numeric import clamp, mean, percent
from toolkit.text import normalize_space, slugify, truncate_words

__all__ = ["clamp", "mean", "normalize_space", "percent", "slugify", "truncate_words"]
