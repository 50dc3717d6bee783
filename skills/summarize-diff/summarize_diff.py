"""Summarise a unified diff (given, or from git): per file its status, lines added and
removed, and for Python files the functions and classes it touches.

Standard library only. The one entry point is ``summarize_diff``.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

__all__ = ["summarize_diff"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
MAX_SYMBOLS = 20


def summarize_diff(
    diff: str = "", root: str = ".", staged: bool = False, base: str | None = None
) -> dict[str, int | str | list[dict[str, str | int | list[str]]]]:
    """Summarise ``diff``, or when it is empty the output of ``git diff`` in ``root`` (the
    index against HEAD when ``staged``, or the working tree against ``base``, e.g. ``HEAD~1``):
    ``files`` (path, status, added, removed, symbols), totals and a few lines of ``summary``.
    Python symbols are the enclosing def/class of changed lines, read from the file under
    ``root`` when it parses, else from the hunk headers and changed def/class lines."""
    if not diff:
        args = ["git", "diff", "--no-color", "--no-ext-diff", "-M"]
        args += ["--cached"] if staged else []
        args += [base] if base else []
        proc = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=120, errors="replace")
        if proc.returncode != 0:
            return {"files": [], "added": 0, "removed": 0, "summary": f"git diff failed: {proc.stderr.strip()[:300]}"}
        diff = proc.stdout
    files = [_summarise(entry, Path(root)) for entry in _split(diff)]
    added, removed = sum(f["added"] for f in files), sum(f["removed"] for f in files)
    lines = [f"{len(files)} files changed, +{added} -{removed}"] if files else ["no changes"]
    for f in files:
        symbols = f" ({', '.join(f['symbols'])})" if f["symbols"] else ""
        lines.append(f"{f['status'][0].upper()} {f['path']} +{f['added']} -{f['removed']}{symbols}")
    return {"files": files, "added": added, "removed": removed, "summary": "\n".join(lines)}


def _split(diff: str) -> list[list[str]]:
    """The diff cut into one list of lines per file: at each ``diff --git`` line in git's
    format, else at each ``---`` line followed by ``+++`` (plain ``diff -u``)."""
    lines = diff.splitlines()
    git = any(line.startswith("diff --git ") for line in lines)
    entries: list[list[str]] = []
    for i, line in enumerate(lines):
        if git:
            starts = line.startswith("diff --git ")
        else:
            starts = line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        if starts:
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    return entries


def _summarise(entry: list[str], root: Path) -> dict[str, str | int | list[str]]:
    old, new, status = _paths(entry)
    added = removed = 0
    new_lines: list[int] = []
    symbols: list[str] = []
    line_no = 0
    in_hunk = False
    current: str | None = None  # the nearest def/class above the line, within the hunk
    removed_defs: list[str] = []
    for line in entry:
        hunk = _HUNK.match(line)
        if hunk:
            in_hunk, line_no = True, int(hunk.group(3))
            heading = _DEF.match(hunk.group(5) or "")
            current = heading.group(1) if heading else None
            continue
        if not in_hunk or line[:1] not in ("+", "-", " "):
            continue
        definition = _DEF.match(line[1:])
        if definition:
            current = definition.group(1)
            if line[0] == "-":
                removed_defs.append(current)
        if line[0] == "+":
            added += 1
            new_lines.append(line_no)
        elif line[0] == "-":
            removed += 1
        line_no += line[0] != "-"
        if line[0] != " " and current and current not in symbols:
            symbols.append(current)
    path = new if status != "deleted" else old
    if path.endswith(".py") and status != "deleted":
        enclosing = _enclosing(root / path, new_lines)
        if enclosing is not None:  # the file is here: exact names, plus definitions removed
            gone = [d for d in removed_defs if not any(d in e.split(".") for e in enclosing)]
            symbols = enclosing + gone
    return {"path": path, "old_path": old, "status": status, "added": added, "removed": removed,
            "symbols": symbols[:MAX_SYMBOLS] if path.endswith(".py") else []}


def _paths(entry: list[str]) -> tuple[str, str, str]:
    """(old path, new path, status) from a file's header lines."""
    old = new = ""
    status = "modified"
    for line in entry:
        if line.startswith("@@"):
            break
        match = re.match(r"diff --git a/(.*) b/(.*)$", line)
        if match:
            old, new = match.groups()
        elif line.startswith(("--- ", "+++ ")):
            path = _strip(line[4:])
            if path == "/dev/null":
                status = "added" if line[0] == "-" else "deleted"
            elif line[0] == "-":
                old = path
            else:
                new = path
        elif line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "deleted"
        elif line.startswith("rename from "):
            status, old = "renamed", line[len("rename from "):]
        elif line.startswith("rename to "):
            new = line[len("rename to "):]
        elif line.startswith("Binary files") and status == "modified":
            status = "binary"
    return old or new, new or old, status


def _strip(path: str) -> str:
    path = path.split("\t")[0]
    return path[2:] if path[:2] in ("a/", "b/") else path


def _enclosing(path: Path, lines: list[int]) -> list[str] | None:
    """Qualified names of the innermost def/class around each changed line, or None when the
    file is not there or does not parse."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    spans: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                spans.append((start, child.end_lineno or child.lineno, name))
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    found: list[str] = []
    for line in lines:
        inside = [s for s in spans if s[0] <= line <= s[1]]
        if inside:
            name = max(inside, key=lambda s: s[0])[2]
            if name not in found:
                found.append(name)
    return found
