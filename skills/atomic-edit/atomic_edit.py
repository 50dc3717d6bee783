"""Apply multi-file edits atomically: validate all, write all, and restore every file if any
edited Python file fails to parse.

Standard library only. The one entry point is ``apply_edits``.
"""

from __future__ import annotations

import ast
import difflib
import os
import tempfile
from pathlib import Path

__all__ = ["apply_edits"]


class EditError(ValueError):
    """An edit cannot be applied; the message is one line naming the file."""


def apply_edits(
    edits: list[dict[str, str]], root: str = ".", dry_run: bool = False
) -> dict[str, bool | str | None | list[str] | dict[str, str]]:
    """Apply ``edits`` (replace ``old`` by ``new``, write ``content``, or ``delete``) to files
    under ``root`` as one change: nothing is written unless every edit applies and every
    resulting .py file parses; if writing fails half-way, the files already written are
    restored. ``dry_run`` checks without writing."""
    base = Path(root).resolve()
    try:
        before, after = _plan(edits, base)
        _check_python(after)
    except EditError as e:
        return {"ok": False, "changed": [], "error": str(e), "diff_stats": {}}
    changed = [rel for rel in after if after[rel] != before[rel]]
    stats = {rel: _stats(before[rel], after[rel]) for rel in changed}
    if dry_run:
        return {"ok": True, "changed": [], "error": None, "diff_stats": stats}
    written: list[str] = []
    try:
        for rel in changed:
            _write(base / rel, after[rel])
            written.append(rel)
    except OSError as e:
        failed = rel
        for done in written:
            _write(base / done, before[done])
        return {"ok": False, "changed": [], "error": f"{failed}: could not write ({e}); all files restored", "diff_stats": {}}
    return {"ok": True, "changed": changed, "error": None, "diff_stats": stats}


def _plan(edits: list[dict[str, str]], base: Path) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The files' text before and after every edit (None = the file does not exist)."""
    if not isinstance(edits, list) or not edits:
        raise EditError("edits must be a non-empty list of objects")
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    for i, edit in enumerate(edits):
        if not isinstance(edit, dict) or not isinstance(edit.get("path"), str):
            raise EditError(f"edit {i}: needs a 'path' string")
        rel = _relative(edit["path"], base)
        if rel not in after:
            before[rel] = after[rel] = _read(base / rel, rel)
        after[rel] = _apply_one(edit, after[rel], rel, i)
    return before, after


def _apply_one(edit: dict[str, str], text: str | None, rel: str, i: int) -> str | None:
    if "content" in edit:
        return str(edit["content"])
    if str(edit.get("delete", "")).lower() in ("true", "1", "yes"):
        if text is None:
            raise EditError(f"{rel}: edit {i} deletes a file that does not exist")
        return None
    if "old" not in edit or "new" not in edit:
        raise EditError(f"{rel}: edit {i} needs 'old' and 'new', 'content', or 'delete'")
    if text is None:
        raise EditError(f"{rel}: edit {i} replaces text in a file that does not exist")
    old, new = str(edit["old"]), str(edit["new"])
    count = text.count(old) if old else 0
    if count == 0:
        raise EditError(f"{rel}: edit {i}: the 'old' text was not found")
    if count > 1 and edit.get("count") != "all":
        raise EditError(f"{rel}: edit {i}: the 'old' text occurs {count} times; make it unique or add \"count\": \"all\"")
    return text.replace(old, new)


def _relative(path: str, base: Path) -> str:
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise EditError(f"{path}: outside the root folder")
    if target.is_dir():
        raise EditError(f"{path}: is a folder")
    return target.relative_to(base).as_posix()


def _read(path: Path, rel: str) -> str | None:
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as e:
        raise EditError(f"{rel}: cannot be read as UTF-8 text ({e})") from None


def _check_python(after: dict[str, str | None]) -> None:
    for rel, text in after.items():
        if text is None or not rel.endswith(".py"):
            continue
        try:
            ast.parse(text, filename=rel)
        except SyntaxError as e:
            raise EditError(f"{rel}: line {e.lineno}: {e.msg} (nothing was changed)") from None


def _write(path: Path, text: str | None) -> None:
    """Write through a temporary file and a rename, so a file is never half-written."""
    if text is None:
        if path.exists():
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _stats(old: str | None, new: str | None) -> str:
    added = removed = 0
    for line in difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} -{removed}"
