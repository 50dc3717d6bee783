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


# -- the run's library: list, show, search (hgm.skills.library) ---------------------------------
ListNodeOpt = Annotated[int | None, typer.Option("--node", help="Only the skills this node carries (default: every skill of the run).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _library(run_dir: Path, call):
    """Run ``call(run)`` on the opened run; a missing index or name is a one-line error."""
    import sqlite3

    from hgm.cli import _fail, _open
    from hgm.skills.library import LibraryError

    run = _open(run_dir)
    try:
        return call(run)
    except LibraryError as e:
        raise _fail(str(e)) from None
    except sqlite3.OperationalError as e:
        raise _fail(f"{run_dir} has no skill index ({e}); resume it once with this hgm to add one") from None
    finally:
        run.close()


def _lift_text(lift: dict) -> str:
    if lift["lift"] is None:
        return "lift n/a"
    lo, hi = lift["interval"]
    return f"lift {lift['lift']:+.2f} [{lo:+.2f}, {hi:+.2f}]"


@skills_app.command("list")
def list_(run_dir: RunDir, node: ListNodeOpt = None, as_json: JsonOpt = False) -> None:
    """The run's skills (or one node's): provenance, usage and lift on held-out tasks."""
    from hgm.cli import _print_json, console
    from hgm.skills.library import list_skills

    skills = _library(run_dir, lambda run: list_skills(run._conn(), node))
    if as_json:
        _print_json([s.as_dict() for s in skills])
        return
    if not skills:
        console.print("no skills" + ("" if node is None else f" in node {node}"))
    for s in skills:
        origin = s.origin.get("how", "?") + (f" from task {s.origin['task']}" if "task" in s.origin else "")
        version = f", improves #{s.version_of}" if s.version_of else ""
        console.print(
            f"{s.name}  #{s.id}  node {s.introduced_by} ({origin}{version}), on {s.nodes} nodes, "
            f"{'verified' if s.verified else 'unverified'}; used in {s.used} evaluations "
            f"(read {s.read}, ran {s.ran}); {_lift_text(s.lift)}\n    {s.description}",
            markup=False, highlight=False,
        )


@skills_app.command("show")
def show(run_dir: RunDir, name: Annotated[str, typer.Argument(help="The skill's name.")],
         as_json: JsonOpt = False) -> None:
    """One skill, every version: SKILL.md, code, tests, lineage, usage and lift."""
    from dataclasses import asdict

    from hgm.cli import _print_json, console
    from hgm.skills.library import show_skill

    versions = _library(run_dir, lambda run: show_skill(run._conn(), run.repo, name))
    if as_json:
        _print_json([asdict(v) for v in versions])
        return
    for v in versions:
        s = v.summary
        near = ", ".join(f"{d['name']} ({d['cosine']:.2f})" for d in v.near_duplicates) or "none"
        lines = [
            f"== {s.name} #{s.id} ({s.content_hash[:12]}), introduced by node {s.introduced_by} "
            f"({s.origin.get('how', '?')})" + (f", improves #{s.version_of}" if s.version_of else ""),
            f"lineage: {' > '.join(map(str, v.lineage))}; carried by nodes {v.carried_by}",
            f"used in {s.used} evaluations (read {s.read}, ran {s.ran}); {_lift_text(s.lift)}; "
            f"distilled from {s.source_tasks or 'no task'}; near-duplicates: {near}",
        ]
        for rel, text in v.files.items():
            lines += [f"--- {rel}", text.rstrip()]
        console.print("\n".join(lines), markup=False, highlight=False)


@skills_app.command("search")
def search(
    run_dir: RunDir,
    query: Annotated[str, typer.Argument(help="What the skill should do.")],
    node: ListNodeOpt = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many hits.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search the run's skills (or one node's) as the agents do: embeddings, else BM25."""
    from dataclasses import asdict

    from hgm.cli import _print_json, console
    from hgm.skills.library import search_skills

    mode, hits = _library(run_dir, lambda run: search_skills(run._conn(), query, node=node, k=k,
                                                             embedder=_index_embedder(run)))
    if as_json:
        _print_json({"mode": mode, "hits": [asdict(h) for h in hits]})
        return
    console.print(f"{len(hits)} hits ({mode} search)", markup=False, highlight=False)
    for h in hits:
        console.print(f"{h.score:8.3f}  {h.name}: {h.description}", markup=False, highlight=False)


def _index_embedder(run):
    """The run's embedding model (as its agents had it), or None when it cannot be opened here
    (the search is then lexical)."""
    try:
        from hgm.skills.embed import open_run_embedder, run_spec

        spec = run_spec(run.config.get("embedding_model") or "none", run.config.get("model") or "")
        return open_run_embedder(spec, run.path)
    except Exception:  # noqa: BLE001 - no embedding model here: BM25 it is
        return None
