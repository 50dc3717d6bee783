class EventBus:
    """Synchronous publish/subscribe: handlers run in the order they subscribed."""

    def __init__(self):
        self._handlers = {}

    def subscribe(self, event, handler):
        self._handlers.setdefault(event, []).append(handler)

    def unsubscribe(self, event, handler):
        handlers = self._handlers.get(event, [])
        if handler not in handlers:
            raise ValueError(f"{handler!r} is not subscribed to {event!r}")
        handlers.remove(handler)

    def publish(self, event, payload):
        """Call every handler of ``event`` with ``payload``; return how many ran.

        A handler that raises stops the publication, and the error propagates.
        """
        handlers = list(self._handlers.get(event, []))
        for handler in handlers:
            handler(payload)
        return len(handlers)
