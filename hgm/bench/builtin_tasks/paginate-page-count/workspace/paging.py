"""Split a sequence into numbered pages (1-based) for list endpoints."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    pages: int

    @property
    def has_next(self):
        return self.number < self.pages

    @property
    def has_previous(self):
        return self.number > 1


def paginate(items, number, per_page=10):
    """Return page `number` (1-based) of `items`.

    An empty sequence has a single empty page. Asking for a page outside
    1..pages raises ValueError.
    """
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    pages = len(items) // per_page + 1
    if not 1 <= number <= pages:
        raise ValueError(f"page {number} out of range 1..{pages}")
    start = (number - 1) * per_page
    return Page(list(items[start:start + per_page]), number, pages)
