"""MCP export: the client configuration that starts ``hgm skills serve`` for a node.

An MCP server is a process, not a folder, so this export writes how to start it:
``mcp.json`` (the ``mcpServers`` map that Claude Code's ``.mcp.json``, Claude Desktop, Cursor
and most MCP clients read) and ``README.md`` with the same as a ``claude mcp add`` command and
the streamable HTTP variant. The server reads the skills from the run when it starts.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from hgm.skills.export import Exported, prepare_out
from hgm.skills.format import Skill


def serve_args(run_dir: Path, node: int, sandbox: str) -> list[str]:
    """The arguments of ``hgm`` that serve ``node`` of ``run_dir`` over stdio."""
    return ["skills", "serve", str(Path(run_dir).resolve()), "--node", str(node), "--sandbox", sandbox]


def export_mcp(
    skills: Sequence[Skill],
    out: Path,
    *,
    run_dir: Path,
    node: int,
    sandbox: str = "auto",
    server_name: str = "hgm-skills",
    command: str | None = None,
) -> Exported:
    """Write ``mcp.json`` and ``README.md`` into ``out``; ``command`` is the ``hgm`` executable
    (default: the one next to this Python, else ``hgm`` on the PATH)."""
    command = command or _hgm_command()
    args = serve_args(run_dir, node, sandbox)
    config = {"mcpServers": {server_name: {"command": command, "args": args}}}
    out = prepare_out(out)
    files = (out / "mcp.json", out / "README.md")
    files[0].write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    files[1].write_text(_readme(server_name, command, args, skills), encoding="utf-8")
    return Exported("mcp", out, files, tuple(s.name for s in skills))


def _hgm_command() -> str:
    beside = Path(sys.executable).with_name("hgm")
    return str(beside) if beside.is_file() else "hgm"


def _readme(server_name: str, command: str, args: list[str], skills: Sequence[Skill]) -> str:
    stdio = shlex.join([command, *args])
    http_args = [*args, "--transport", "http", "--port", "8765"]
    tools = "\n".join(f"- {s.name}: {s.description.strip()}" for s in skills)
    return f"""# MCP server for {len(skills)} hgm skills

{tools}

Claude Code (stdio):

    claude mcp add {server_name} -- {stdio}

Any MCP client: merge `mcp.json` (an `mcpServers` map) into the client's configuration, e.g. a
project's `.mcp.json`.

Over streamable HTTP, start the server and point the client at http://127.0.0.1:8765/mcp:

    {shlex.join([command, *http_args])}
    claude mcp add --transport http {server_name} http://127.0.0.1:8765/mcp

Tools are named `<skill>__<function>`; `search_skills` searches the catalogue; each SKILL.md is
the resource `skill://<name>/SKILL.md`. Every call runs in a sandbox.
"""
