import datetime as dt
import re
from dataclasses import dataclass

# 10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET /users/7 HTTP/1.1" 200 512 37.5
_LINE = re.compile(
    r'^(?P<ip>\S+) \S+ \S+ \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" '
    r"(?P<status>\d{3}) (?P<bytes>\d+|-) (?P<ms>\d+(?:\.\d+)?)$"
)


@dataclass(frozen=True)
class Request:
    when: dt.datetime
    method: str
    path: str
    status: int
    size: int
    ms: float


def parse_line(line):
    """A Request from one log line, or None for lines in another format."""
    match = _LINE.match(line.strip())
    if not match:
        return None
    when = dt.datetime.strptime(match["ts"], "%d/%b/%Y:%H:%M:%S %z")
    size = 0 if match["bytes"] == "-" else int(match["bytes"])
    path = match["path"].split("?", 1)[0]
    return Request(when, match["method"], path, int(match["status"]), size, float(match["ms"]))


def parse_log(text):
    """(requests, number of skipped lines)."""
    requests, skipped = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        request = parse_line(line)
        if request is None:
            skipped += 1
        else:
            requests.append(request)
    return requests, skipped
