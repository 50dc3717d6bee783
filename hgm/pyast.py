"""``ast.parse`` behind one lock, for code that parses in worker threads.

CPython 3.11 keeps the recursion depth of its tree-to-object conversion in state that threads
share, so two threads parsing at once can fail with "SystemError: AST constructor recursion
depth mismatch" (seen when an expansion read a child's skills while an evaluation read its
expected tests). Python 3.12 fixed it; parsing is quick, so one lock costs nothing.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """:func:`ast.parse`, one thread at a time."""
    with _LOCK:
        return ast.parse(source, filename=filename, mode=mode)
