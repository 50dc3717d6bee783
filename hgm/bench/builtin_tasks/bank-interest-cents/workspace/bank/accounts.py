"""Account records."""

from dataclasses import dataclass


@dataclass
class Account:
    id: str
    owner: str
    product: str
    currency: str = "USD"
    closed: bool = False
