"""Read a Python traceback: the exception, the frames, the innermost frame in the project with
its source around the failing line, and a hint about what usually causes that exception.

Standard library only. The one entry point is ``explain_traceback``.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["explain_traceback"]

_HEADER = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)(?:, in (.+))?$')
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration)|[A-Za-z_][\w.]*)(?:: (.*))?$")
_LIBRARY = ("site-packages", "dist-packages", "/lib/python", "<frozen", "<string>")
_HINTS: list[tuple[str, str, str]] = [
    # (exception type, pattern the message must match ("" = any), hint)
    ("ModuleNotFoundError", "", "The module is not installed or not importable from here: check the name, install the package, or run from the project root so the package is on sys.path."),
    ("ImportError", "cannot import name", "The module exists but has no such name: it was renamed or moved, or the two modules import each other (a circular import) and the name is not defined yet."),
    ("ImportError", "", "The import failed while loading the module: read the frames below the import for the real error."),
    ("AttributeError", "'NoneType' object", "A value is None where an object was expected: find where it was set (a function that returns nothing, a failed lookup, an unset attribute)."),
    ("AttributeError", "", "The object has no such attribute: the name is misspelt, or the object is of a different type than the code expects (print type(obj))."),
    ("KeyError", "", "A dict lookup with a missing key: check the key's exact spelling and type (str vs int), or use .get() with a default if absence is normal."),
    ("IndexError", "", "An index past the end of a sequence: check for an empty list and off-by-one bounds."),
    ("TypeError", "positional argument|keyword argument|required argument", "A call does not match the function's signature: compare the arguments with the definition (a changed signature, a missing self, a method called on the class)."),
    ("TypeError", "not subscriptable|not iterable|not callable", "A value is of a different type than the code assumes (often None or a function instead of its result)."),
    ("TypeError", "unsupported operand|can only concatenate|must be str", "Two values of incompatible types meet in an operation: convert one (str(), int()) or fix where the wrong type comes from."),
    ("TypeError", "", "A value of the wrong type reached an operation or a call: check what type each argument really has."),
    ("NameError", "", "The name is not defined where it is used: a typo, a missing import, or a variable used outside the scope that defines it."),
    ("UnboundLocalError", "", "The function assigns this name somewhere, so Python treats it as local everywhere in it: it is read before that assignment (use global/nonlocal or a different name)."),
    ("ValueError", "", "The type is right but the value is not acceptable (a bad format, an out-of-range number, an unpacking count): print the value."),
    ("ZeroDivisionError", "", "A division by zero: guard the empty or zero case (an empty list's len(), a zero count)."),
    ("RecursionError", "", "Unbounded recursion: a base case that is never reached, or two functions calling each other; look for the repeating frames."),
    ("FileNotFoundError", "", "The path does not exist from the current folder: check the working directory, build paths from __file__, or create the file first."),
    ("PermissionError", "", "The process may not read or write that path (read-only folder, another user's file)."),
    ("AssertionError", "", "An assertion failed: the message or the compared values show expected against actual; decide whether the code or the expectation is wrong."),
    ("SyntaxError", "", "The file does not parse: look at the line shown (and the one before: an unclosed bracket or string often shows up a line later)."),
    ("IndentationError", "", "Mixed or inconsistent indentation: re-indent the block shown with spaces only."),
    ("TimeoutError", "", "An operation took longer than its limit: a hung network call, a deadlock, or a limit set too low."),
]


def explain_traceback(
    text: str, root: str = ".", context: int = 3
) -> dict[str, str | bool | None | list[str] | list[dict[str, str | int | bool]] | dict[str, str | int]]:
    """Parse the last traceback in ``text``: ``exception`` and ``message``, ``frames``
    (outermost first, each flagged ``in_project`` when its file is under ``root`` and not a
    library), ``culprit`` (the innermost project frame) with ``source`` (its lines, ``context``
    either side, the failing one marked ``>``), earlier exceptions of a chain in ``chain``, and
    a ``hint``. ``found`` is false when the text holds no traceback."""
    blocks = _blocks(text)
    if not blocks:
        return {"found": False, "exception": "", "message": "", "frames": [], "culprit": None, "source": "", "chain": [], "hint": "No Python traceback found in the text."}
    chain = [f"{e}: {m}" if m else e for e, m in (_exception(b) for b in blocks[:-1])]
    block = blocks[-1]
    exception, message = _exception(block)
    base = Path(root).resolve()
    frames = [_frame(path, int(line), function, code, base) for path, line, function, code in _frames(block)]
    culprit = next((f for f in reversed(frames) if f["in_project"]), None)
    source = _source(base, culprit, context) if culprit else ""
    return {
        "found": True,
        "exception": exception,
        "message": message,
        "frames": frames,
        "culprit": {k: culprit[k] for k in ("path", "line", "function", "code")} if culprit else None,
        "source": source,
        "chain": chain,
        "hint": _hint(exception, message),
    }


def _blocks(text: str) -> list[list[str]]:
    """Each traceback in the text as its lines, from the header to the exception line."""
    lines = text.splitlines()
    blocks: list[list[str]] = []
    for i, line in enumerate(lines):
        if line.strip() != _HEADER:
            continue
        block = []
        for row in lines[i + 1:]:
            if row.strip() == _HEADER:
                break
            block.append(row)
            if row and not row[0].isspace() and _EXCEPTION.match(row) and not _FRAME.match(row):
                break
        blocks.append(block)
    return blocks


def _frames(block: list[str]) -> list[tuple[str, str, str, str]]:
    frames = []
    for i, row in enumerate(block):
        match = _FRAME.match(row)
        if match:
            following = block[i + 1].strip() if i + 1 < len(block) else ""
            code = "" if _FRAME.match(following) or set(following) <= set("^~ ") or _is_exception_line(block, i + 1) else following
            frames.append((match.group(1), match.group(2), match.group(3) or "", code))
    return frames


def _is_exception_line(block: list[str], i: int) -> bool:
    return i < len(block) and bool(block[i]) and not block[i][0].isspace()


def _exception(block: list[str]) -> tuple[str, str]:
    last = next((row for row in reversed(block) if row and not row[0].isspace()), "")
    match = _EXCEPTION.match(last)
    if not match:
        return last.strip(), ""
    return match.group(1), (match.group(2) or "").strip()


def _frame(path: str, line: int, function: str, code: str, base: Path) -> dict[str, str | int | bool]:
    shown = path
    in_project = False
    if not any(marker in path for marker in _LIBRARY):
        full = (base / path).resolve()
        if full.is_file() and (full == base or base in full.parents):
            shown, in_project = full.relative_to(base).as_posix(), True
    return {"path": shown, "line": line, "function": function, "code": code, "in_project": in_project}


def _source(base: Path, frame: dict, context: int) -> str:
    try:
        lines = (base / str(frame["path"])).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    line = int(frame["line"])
    start, end = max(1, line - context), min(len(lines), line + context)
    width = len(str(end))
    return "\n".join(f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(start, end + 1))


def _hint(exception: str, message: str) -> str:
    name = exception.rsplit(".", 1)[-1]
    for kind, pattern, hint in _HINTS:
        if kind == name and (not pattern or re.search(pattern, message)):
            return hint
    return f"{name} was raised: read the culprit frame's line and the values it uses."
