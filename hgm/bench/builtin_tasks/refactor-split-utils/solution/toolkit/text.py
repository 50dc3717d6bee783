"""Text helpers."""

import re
import unicodedata


def slugify(text):
    """A URL-friendly form of `text`: ASCII, lower case, words joined by '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words)


def normalize_space(text):
    """Collapse runs of whitespace to one space and trim the ends."""
    return " ".join(text.split())


def truncate_words(text, count, suffix="..."):
    """The first `count` words of `text`, plus `suffix` if anything was cut."""
    words = text.split()
    if len(words) <= count:
        return " ".join(words)
    return " ".join(words[:count]) + suffix
