import re

_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9]\d*)$")


def column_index(letters):
    """'A' -> 0, 'Z' -> 25, 'AA' -> 26, 'AZ' -> 51, 'BA' -> 52."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - ord("A") + 1)
    return index - 1


def column_name(index):
    """The inverse of column_index: 0 -> 'A', 26 -> 'AA'."""
    if index < 0:
        raise ValueError("column index must not be negative")
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def parse_ref(ref):
    """'B3' (or '$B$3') -> (column index, row index), both from 0."""
    match = _REF.match(ref.strip().upper())
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return column_index(match.group(1)), int(match.group(2)) - 1


def format_ref(column, row):
    return f"{column_name(column)}{row + 1}"
