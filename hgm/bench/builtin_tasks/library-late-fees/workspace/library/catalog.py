"""Books and the copies on each branch's shelves."""

from dataclasses import dataclass

from library.errors import NotAvailable, UnknownItem


@dataclass(frozen=True)
class Book:
    isbn: str
    title: str


class Catalog:
    def __init__(self):
        self._books = {}
        self._shelf = {}  # (branch, isbn) -> copies available

    def add(self, book, branch, copies=1):
        self._books[book.isbn] = book
        key = (branch, book.isbn)
        self._shelf[key] = self._shelf.get(key, 0) + copies

    def book(self, isbn):
        try:
            return self._books[isbn]
        except KeyError:
            raise UnknownItem(f"book {isbn!r}") from None

    def available(self, branch, isbn):
        return self._shelf.get((branch, isbn), 0)

    def take(self, branch, isbn):
        self.book(isbn)
        if self.available(branch, isbn) < 1:
            raise NotAvailable(isbn)
        self._shelf[(branch, isbn)] -= 1

    def put_back(self, branch, isbn):
        self._shelf[(branch, isbn)] = self.available(branch, isbn) + 1
