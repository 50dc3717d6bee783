"""`hgm skills ...`: the run's skill library. Thin: each command calls hgm.skills.

Registered in hgm/cli.py as the `skills` sub-app. Exit codes follow the view commands: 1 when
what was asked cannot be shown or made (no such run or node, no skills), 2 for a bad flag.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

skills_app = typer.Typer(help="The skill library: export a node's skills to other agents, serve them over MCP.",
                         no_args_is_help=True)  # fmt: skip

RunDir = Annotated[Path, typer.Argument(help="A run folder, e.g. archive/<run>.", show_default=False)]
NodeOpt = Annotated[int | None, typer.Option("--node", help="Node id (default: the node `hgm best` names).")]
BestOpt = Annotated[bool, typer.Option("--best", help="The node `hgm best` names (the default).")]
MinEvalsOpt = Annotated[int | None, typer.Option(min=1, help="With --best: the evaluations a node needs (default: the run's final_min_evals).")]
SandboxOpt = Annotated[str, typer.Option(help="Sandbox every skill call runs in: auto (docker when an engine answers, else local), docker, local.")]


class ExportFormat(StrEnum):
    agent_skills = "agent-skills"
    mcp = "mcp"
    openai = "openai"
    python = "python"


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


def _checked_out(run_dir: Path, node: int | None, best: bool, min_evals: int | None):
    """The node's skills as a context manager; one-line errors exit 1."""
    from hgm.cli import _fail, _open
    from hgm.skills.export.source import node_skills, pick_node
    from hgm.views import ViewError

    run = _open(run_dir)
    try:
        return node_skills(run, pick_node(run, node, best, min_evals))  # NoSkills comes when it is entered
    except ViewError as e:
        raise _fail(str(e)) from None


@skills_app.command("export")
def export(
    run_dir: RunDir,
    format: Annotated[ExportFormat, typer.Option("--format", help="agent-skills, mcp, openai or python.")],
    out: Annotated[Path, typer.Option(help="Folder to write (absent or empty).")],
    node: NodeOpt = None,
    best: BestOpt = False,
    min_evals: MinEvalsOpt = None,
    sandbox: Annotated[str, typer.Option(help="mcp: the sandbox the served skills' calls run in (written into the config).")] = "auto",
    package: Annotated[str, typer.Option(help="python: the package's import name.")] = "hgm_skills",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Export a node's skills: Agent Skills folders (also .claude/skills/), OpenAI tools, a Python package, or an MCP config."""
    from hgm.cli import _fail, _print_json, console
    from hgm.skills.export import ExportError
    from hgm.skills.export import export as run_export
    from hgm.skills.export.source import NoSkills
    from hgm.skills.schema import SchemaError

    options: dict = {}
    if format is ExportFormat.mcp:
        from hgm.sandbox import AUTO, SANDBOXES

        if sandbox.partition("?")[0] not in (AUTO, *SANDBOXES):
            raise _fail(f"unknown sandbox {sandbox!r}; choose one of: {', '.join(sorted([AUTO, *SANDBOXES]))}", 2)
        options = {"run_dir": run_dir, "sandbox": sandbox}
    elif format is ExportFormat.python:
        options = {"package": package}
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise _fail(f"--out {out} exists and is not an empty folder; export into a new one", 2)
    try:
        with _checked_out(run_dir, node, best, min_evals) as found:
            if format is ExportFormat.mcp:
                options["node"] = found.node
            done = run_export(format.value, found.skills, out, **options)
    except (NoSkills, SchemaError, ExportError) as e:
        raise _fail(str(e)) from None
    data = {"format": done.format, "node": found.node, "out": str(done.out), "skills": list(done.skills),
            "files": [str(f) for f in done.files], "skipped": list(found.problems)}  # fmt: skip
    if as_json:
        _print_json(data)
        return
    console.print(f"exported {len(done.skills)} skills of node {found.node} ({done.format}) to {done.out}",
                  markup=False, highlight=False)  # fmt: skip
    for line in [*(f"  {f}" for f in data["files"]), *(f"  skipped: {p}" for p in found.problems)]:
        console.print(line, markup=False, highlight=False)


@skills_app.command("serve")
def serve(
    run_dir: RunDir,
    node: NodeOpt = None,
    best: BestOpt = False,
    min_evals: MinEvalsOpt = None,
    transport: Annotated[Transport, typer.Option(help="stdio (a client starts the server) or http (streamable HTTP at /mcp).")] = Transport.stdio,
    host: Annotated[str, typer.Option(help="http: the address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: the port to listen on.")] = 8765,
    sandbox: SandboxOpt = "auto",
    timeout: Annotated[float, typer.Option(min=1, help="Seconds one skill call may run.")] = 60.0,
    workspace: Annotated[Path | None, typer.Option(help="A folder the skills see read-only at /workspace (their working directory).")] = None,
    embedding_model: Annotated[str | None, typer.Option(help="search_skills' ranking: default, st:PATH, litellm:MODEL, scripted or none (BM25); default: the run's embedding_model.")] = None,
) -> None:
    """Serve a node's skills over MCP: each entry point a tool, each SKILL.md a resource, plus search_skills."""
    from hgm.archive.run import read_config
    from hgm.cli import _fail
    from hgm.sandbox import SandboxError, get_sandbox
    from hgm.skills.export.mcp_server import ServeOptions, build_server
    from hgm.skills.export.mcp_server import serve as run_server
    from hgm.skills.export.sandboxed import CallLimits
    from hgm.skills.export.search import search_embedder
    from hgm.skills.export.source import NoSkills
    from hgm.skills.schema import SchemaError

    if workspace is not None and not workspace.is_dir():
        raise _fail(f"--workspace {workspace} is not a folder", 2)
    try:
        with _checked_out(run_dir, node, best, min_evals) as found:
            try:
                embedder = search_embedder(embedding_model, read_config(run_dir))
                box = get_sandbox(sandbox)
            except ValueError as e:
                raise _fail(str(e), 2) from None
            except SandboxError as e:
                raise _fail(str(e)) from None
            options = ServeOptions(CallLimits(time_limit_s=timeout), workspace.resolve() if workspace else None, embedder)
            try:
                run_server(build_server(found.skills, box, options), transport.value, host=host, port=port)
            finally:
                box.close()
    except (NoSkills, SchemaError) as e:
        raise _fail(str(e)) from None
