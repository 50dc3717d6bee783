class RouteError(ValueError):
    """A route pattern is malformed."""
