class Headers:
    """HTTP header fields. Field names are case-insensitive (RFC 9110), values are
    kept as sent, and a name may occur several times."""

    def __init__(self, fields=()):
        self._fields = [(name, value) for name, value in fields]

    def add(self, name, value):
        self._fields.append((name, value))

    def get(self, name, default=None):
        """The first value of field ``name``, or ``default``."""
        wanted = name.lower()
        for field, value in self._fields:
            if field.lower() == wanted:
                return value
        return default

    def get_all(self, name):
        wanted = name.lower()
        return [value for field, value in self._fields if field.lower() == wanted]

    def __contains__(self, name):
        wanted = name.lower()
        return any(field.lower() == wanted for field, _ in self._fields)

    def __len__(self):
        return len(self._fields)
