"""Parse and format human-readable durations such as ``1h30m``, ``45s`` or ``250ms``.

A duration is a sequence of ``<number><unit>`` parts, largest unit first by convention
but in any order, optionally separated by spaces. Units: ``d`` (days), ``h`` (hours),
``m`` (minutes), ``s`` (seconds), ``ms`` (milliseconds). Numbers may have a fractional
part (``1.5h``). A bare number is not accepted: the unit is what makes a timeout
unambiguous.
"""

import re

UNITS = {
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}

# "ms" must come before "m": the regex takes the first alternative that matches, and "m"
# would otherwise match the start of "ms".
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)(ms|d|h|m|s)\s*")


def parse_duration(text):
    """Return the number of seconds described by ``text`` as a float."""
    pos = 0
    total = 0.0
    seen = False
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise ValueError(f"invalid duration: {text!r}")
        number, unit = match.groups()
        total += float(number) * UNITS[unit]
        pos = match.end()
        seen = True
    if not seen:
        raise ValueError(f"invalid duration: {text!r}")
    return total


def format_duration(seconds):
    """Format ``seconds`` compactly, e.g. 5400 -> "1h30m", 0.25 -> "250ms", 0 -> "0s"."""
    if seconds < 0:
        raise ValueError("durations cannot be negative")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = round(UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
