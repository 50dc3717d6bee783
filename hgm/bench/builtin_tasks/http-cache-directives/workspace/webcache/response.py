from dataclasses import dataclass, field

from webcache.headers import Headers


@dataclass
class Response:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
