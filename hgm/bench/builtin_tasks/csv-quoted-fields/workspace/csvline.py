"""A minimal CSV reader for exports from our billing system.

Rules: fields are separated by `delimiter`; a field may be wrapped in double
quotes, inside which the delimiter is literal and a doubled quote ("") stands
for one quote character. An unterminated quoted field raises ValueError.
"""


def parse_line(line, delimiter=","):
    """Split one line into its fields."""
    fields = []
    current = []
    in_quotes = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            if in_quotes and line[i + 1:i + 2] == '"':
                current.append('"')
                i += 2
                continue
            in_quotes = not in_quotes
        elif ch == delimiter:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if in_quotes:
        raise ValueError(f"unterminated quoted field in line: {line!r}")
    fields.append("".join(current))
    return fields


def read_rows(text, delimiter=","):
    """Parse `text` whose first line is a header; return a list of dicts."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = parse_line(lines[0], delimiter)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = parse_line(line, delimiter)
        if len(values) != len(header):
            raise ValueError(f"line {number}: expected {len(header)} fields, got {len(values)}")
        rows.append(dict(zip(header, values)))
    return rows
