"""hgm.pyast.parse is safe to call from several threads at once; plain ast.parse is not on
CPython 3.11, whose tree-to-object conversion keeps its recursion depth in state the threads
share.

The conversion holds the GIL, so the race needs another thread to get in half-way: whenever
the garbage collector runs Python code during it (a finalizer, a gc callback) the interpreter
may switch threads. A gc callback that yields (``time.sleep(0)``) makes that happen often
enough to show it in a second or two; in runs it was rarer, but it happened (an expansion
reading a child's skills while an evaluation read its expected tests)."""

from __future__ import annotations

import ast
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from hgm import pyast

# Deeply nested: lists 60 deep and a 100-term sum (a left-leaning BinOp chain 100 deep).
SOURCE = ("x = " + "[" * 60 + "]" * 60 + "\n" + "y = " + " + ".join(["a"] * 100) + "\n") * 10
THREADS, PARSES = 4, 40


@contextmanager
def _yielding_gc() -> Iterator[None]:
    """Every collection lets other threads run, as a finalizer that releases the GIL would."""

    def callback(phase: str, info: dict) -> None:
        time.sleep(0)

    interval = sys.getswitchinterval()
    gc.callbacks.append(callback)
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)
        sys.setswitchinterval(interval)


def _parse_in_threads(parse: Callable[[str], ast.AST]) -> tuple[list[str], int]:
    """The SystemErrors seen and the number of parses that succeeded."""
    errors: list[str] = []
    parsed = [0] * THREADS

    def work(i: int) -> None:
        for _ in range(PARSES):
            try:
                tree = parse(SOURCE)
            except SystemError as e:
                errors.append(str(e))
                return
            assert isinstance(tree, ast.Module) and len(tree.body) == 20
            parsed[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    with _yielding_gc():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors, sum(parsed)


def test_concurrent_deep_parses_through_pyast_all_succeed() -> None:
    errors, parsed = _parse_in_threads(pyast.parse)
    assert errors == [] and parsed == THREADS * PARSES


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 fixed the shared recursion depth")
def test_plain_ast_parse_fails_that_way_on_this_python() -> None:
    """Why pyast exists: the same load through plain ast.parse raises the SystemError."""
    errors: list[str] = []
    for _ in range(5):  # it takes a thread switch at the wrong moment: a few rounds at most
        errors, _ = _parse_in_threads(ast.parse)
        if errors:
            break
    assert errors and all("recursion depth mismatch" in e for e in errors), errors
