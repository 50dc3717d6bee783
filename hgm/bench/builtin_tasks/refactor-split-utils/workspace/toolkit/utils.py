"""Assorted helpers."""

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


def clamp(value, low, high):
    """`value` limited to the range [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(high, value))


def percent(part, whole, digits=1):
    """`part` as a percentage of `whole`, rounded; 0.0 when `whole` is 0."""
    if whole == 0:
        return 0.0
    return round(100.0 * part / whole, digits)


def mean(values):
    """The arithmetic mean; ValueError for no values."""
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)
