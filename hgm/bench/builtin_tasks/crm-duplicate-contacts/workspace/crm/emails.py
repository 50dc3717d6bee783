"""E-mail address helpers."""

import re

_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(address):
    """The canonical form of an address, used as the customer key."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def is_valid_email(address):
    return bool(_SHAPE.match(address.strip()))
