"""Customer records."""

from dataclasses import dataclass, field


@dataclass
class Contact:
    email: str
    name: str = ""
    tags: set = field(default_factory=set)
    orders: list = field(default_factory=list)

    def merge(self, other):
        """Fold `other` (the same customer) into this contact."""
        if not self.name:
            self.name = other.name
        self.tags |= other.tags
        self.orders.extend(other.orders)
