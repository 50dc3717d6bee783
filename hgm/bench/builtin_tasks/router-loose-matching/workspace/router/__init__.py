"""Map URL paths to handlers: `Router().add("/users/<int:id>", handler)`."""

from router.router import Match, Router

__all__ = ["Match", "Router"]
