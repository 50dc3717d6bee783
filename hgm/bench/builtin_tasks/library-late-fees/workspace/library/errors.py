class LibraryError(Exception):
    pass


class NotAvailable(LibraryError):
    """No copy of the book is on the shelf."""


class UnknownItem(LibraryError):
    """No such book, member, branch or loan."""


class LoanLimitReached(LibraryError):
    pass
