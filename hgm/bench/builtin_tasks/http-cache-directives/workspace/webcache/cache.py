from webcache.cachecontrol import parse_cache_control


class ResponseCache:
    """Stores responses to GET requests while they are fresh.

    A response is stored only when it has status 200 and a Cache-Control field with
    a positive ``max-age`` and neither ``no-store`` nor ``private``. It is fresh for
    ``max-age`` seconds after it was stored.
    """

    def __init__(self):
        self._entries = {}

    def store(self, url, response, now):
        """Store ``response`` for ``url`` if it may be cached; return whether it was."""
        if response.status != 200 or "Cache-Control" not in response.headers:
            return False
        directives = parse_cache_control(response.headers.get_all("Cache-Control"))
        if "no-store" in directives or "private" in directives:
            return False
        try:
            max_age = int(directives.get("max-age") or 0)
        except ValueError:
            return False
        if max_age <= 0:
            return False
        self._entries[url] = (now + max_age, response)
        return True

    def lookup(self, url, now):
        """The cached response for ``url`` if it is still fresh, else None."""
        entry = self._entries.get(url)
        if entry is None:
            return None
        expires, response = entry
        if now >= expires:
            del self._entries[url]
            return None
        return response
