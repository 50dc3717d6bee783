"""The `hgm` command line. Thin: every command opens the library and calls one function."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from hgm import render
from hgm.cli_skills import skills_app
from hgm.web import commands as web_commands

app = typer.Typer(
    help="Open-ended self-improvement of coding agents (a Huxley-Gödel Machine).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Wide and unwrapped when piped, like the views: a run's messages stay whole lines in a log file.
console = render.view_console()
err_console = Console(stderr=True, soft_wrap=True)  # errors stay one line: greppable, copyable

RunDir = Annotated[Path, typer.Argument(help="A run folder, e.g. archive/<run>.", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _open(path: Path):
    """Open a run for viewing: read-only, so a view never migrates or repairs a live run."""
    from hgm.archive import ArchiveError, Run

    try:
        return Run.open(path, readonly=True)
    except ArchiveError as e:
        raise _fail(str(e)) from None


def _print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def run(
    config_file: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file (relative paths in it are taken from its folder).")] = None,
    model: Annotated[str | None, typer.Option(help="LLM: a litellm model string (openai/gpt-5-mini, ...) or scripted:NAME.")] = None,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark spec: builtin, builtin?ids=a,b, dir:PATH.")] = None,
    sandbox: Annotated[str | None, typer.Option(help="Sandbox backend: auto (default), docker, local, local?bwrap=0.")] = None,
    policy: Annotated[str | None, typer.Option(help="Search policy: hgm, dgm, greedy, random (with ?param=value); hgm?preset=paper is the HGM paper's algorithm.")] = None,
    workers: Annotated[int | None, typer.Option(help="Jobs running at once.")] = None,
    executor: Annotated[str | None, typer.Option(help="Where jobs run: local (default) or ray (ray?address=auto; docs/ray.md).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the policy and the task order.")] = None,
    max_evals: Annotated[int | None, typer.Option(help="Stop after this many evaluations.")] = None,
    max_usd: Annotated[float | None, typer.Option(help="Dollar budget of all LLM calls.")] = None,
    max_hours: Annotated[float | None, typer.Option(help="Stop starting work after this many hours.")] = None,
    max_nodes: Annotated[int | None, typer.Option(help="Stop once the tree has this many nodes.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder to create (default: archive/run-<time>).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder; flags given change its config (recorded).")] = None,
    allow_model_change: Annotated[bool, typer.Option("--allow-model-change", help="On --resume, accept a --model other than the run's.")] = False,
    skills_from: Annotated[list[str] | None, typer.Option("--skills-from", help="RUN or RUN:NODE whose verified skills the new run's seed carries (repeatable; default node: the best).")] = None,
    allow_free: Annotated[bool, typer.Option("--allow-free", help="The model is free: count calls to a model without a known price as $0 (else --max-usd refuses it).")] = False,
) -> None:
    """Evolve the seed agent: expand, evaluate, and record everything in a run folder.

    Exit codes: 0 finished within budget (a budget reached, or the policy stopped);
    1 did not start: the run is held by another driver (its pid is named), or a preflight check failed;
    2 bad input (flags, config, benchmark; nothing written);
    3 stopped on errors (infrastructure errors, unproductive expansions, sandbox gone; fix and resume);
    130 interrupted by Ctrl-C or SIGTERM (resume to go on).
    """
    from hgm.archive import ArchiveError
    from hgm.archive.lock import RunLocked
    from hgm.config import ConfigError
    from hgm.preflight import PreflightError
    from hgm.runner import start_run
    from hgm.session import ExitCode, plan_run

    overrides = dict(model=model, benchmark=benchmark, sandbox=sandbox, policy=policy, workers=workers,
                     executor=executor, seed=seed, max_evals=max_evals, max_usd=max_usd, max_hours=max_hours, max_nodes=max_nodes,
                     allow_free=allow_free or None, skills_from=skills_from or None)
    try:
        plan = plan_run(overrides=overrides, config_file=config_file, out=out, resume=resume,
                        allow_model_change=allow_model_change)
        outcome = start_run(plan, console=console)
    except ConfigError as e:
        raise _leave(_fail(str(e), ExitCode.BAD_INPUT)) from None
    except RunLocked as e:
        raise _leave(_fail(str(e), ExitCode.LOCKED)) from None
    except PreflightError as e:  # the model, sandbox or benchmark cannot work: nothing was spent
        raise _leave(_fail(f"preflight: {e}", 1)) from None
    except ArchiveError as e:
        raise _leave(_fail(str(e))) from None
    except KeyboardInterrupt:  # before the loop took over Ctrl-C: nothing was left half-done
        raise _leave(_fail("interrupted", ExitCode.INTERRUPTED)) from None
    target = plan.out
    console.print(f"stopped: {outcome.stop_reason}", markup=False, highlight=False)
    if outcome.interrupted or outcome.exit_code != ExitCode.FINISHED:
        lost = f" ({outcome.abandoned} unfinished jobs will be redone)" if outcome.abandoned else ""
        console.print(f"to continue{lost}: hgm run --resume {target}", markup=False, highlight=False)
    _print_best(target)
    console.print(f"more: hgm tree {target} · hgm status {target} · hgm check {target}",
                  markup=False, highlight=False)
    if outcome.abandoned:
        # Abandoned jobs still occupy worker threads, which Python would wait for at exit;
        # their sandboxes die with this process and the resume redoes their work.
        _exit_now(ExitCode.INTERRUPTED)
    if outcome.exit_code != ExitCode.FINISHED:
        raise _leave(typer.Exit(outcome.exit_code))
    _leave(typer.Exit(0))


def _leave(exit: typer.Exit) -> typer.Exit:
    """``exit``, or leave at once when another thread is still alive.

    Everything is recorded and closed by then. A background thread (the embedding model still
    loading, a model's generation thread, a model call given up on) could hold a lock the
    interpreter's shutdown needs, or be joined by it, and keep the process alive for minutes:
    leave without that shutdown."""
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        _exit_now(exit.exit_code)
    return exit


def _exit_now(code: int) -> NoReturn:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _print_best(run_dir: Path) -> None:
    from hgm.views import best_choice, choice_dict

    run = _open(run_dir)
    choice = best_choice(run)
    if choice is None:
        console.print("no agent has been evaluated yet")
        return
    data = choice_dict(choice) | {"commit": run.node(choice.node).commit, "run": str(run_dir)}
    console.print(render.best(data))


@app.command()
def status(run_dir: RunDir, as_json: JsonFlag = False) -> None:
    """Counts of nodes and evaluations, dollars spent, and the best agent so far."""
    from hgm.views import run_status

    data = run_status(_open(run_dir))
    _print_json(data) if as_json else render.view_console().print(render.status(data))


@app.command()
def tree(run_dir: RunDir, as_json: JsonFlag = False) -> None:
    """The tree of agent versions with pass counts, CMP and the best node marked."""
    from dataclasses import asdict

    from hgm.views import tree_rows

    rows = tree_rows(_open(run_dir))
    _print_json([asdict(r) for r in rows]) if as_json else render.view_console().print(render.tree(rows))


@app.command()
def show(
    run_dir: RunDir,
    node: Annotated[int, typer.Argument(help="Node id.")],
    as_json: JsonFlag = False,
) -> None:
    """One node: its proposal, results per task, CMP with its interval, LLM spend."""
    from hgm.views import ViewError, node_detail

    try:
        data = node_detail(_open(run_dir), node)
    except ViewError as e:
        raise _fail(str(e)) from None
    _print_json(data) if as_json else render.view_console().print(render.node(data))


@app.command()
def logs(
    run_dir: RunDir,
    node: Annotated[int, typer.Argument(help="Node id.")],
    task: Annotated[str | None, typer.Option(help="Show the node's latest evaluation of this task id.")] = None,
    llm: Annotated[bool, typer.Option("--llm", help="Also list the node's LLM calls (scope, model, tokens, cost, error).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """An evaluation's trajectory and test log (the node's latest unless --task), and its LLM calls.

    Lists the node's evaluations, then prints one in full: its trajectory step by step
    (messages and tool calls, long outputs folded) and its test log. --json gives the records
    unfolded.
    """
    from hgm.logs import node_logs, raw_logs
    from hgm.views import ViewError

    run = _open(run_dir)
    try:
        if as_json:
            _print_json(raw_logs(run, node, task, llm))
        else:
            render.view_console().print(render.logs(node_logs(run, node, task, llm), task_given=task is not None))
    except ViewError as e:
        raise _fail(str(e)) from None


@app.command()
def diff(
    run_dir: RunDir,
    node: Annotated[int, typer.Argument(help="Node id.")],
    against: Annotated[
        str, typer.Option(help="What to diff against: parent, root, or a node id.")
    ] = "parent",
    as_json: JsonFlag = False,
) -> None:
    """The change a node made, as a git diff."""
    from hgm.archive import ArchiveError
    from hgm.views import ViewError, node_diff

    try:
        data = node_diff(_open(run_dir), node, against)
    except (ViewError, ArchiveError) as e:
        raise _fail(str(e)) from None
    _print_json(data) if as_json else typer.echo(data["diff"], nl=False)


@app.command()
def best(
    run_dir: RunDir,
    min_evals: Annotated[
        int | None, typer.Option(min=1, help="Minimum evaluations (default: the run's final_min_evals).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The final agent: the highest lower credible bound among well-evaluated nodes.

    Exits 1 when no node has the evaluations the rule needs yet (no agent is called best).
    """
    from hgm.views import ViewError, choice_dict, qualified_best

    run = _open(run_dir)
    try:
        choice = qualified_best(run, min_evals)
    except ViewError as e:
        if as_json:  # scripts get an answer they can parse, with the same exit code
            _print_json({"node": None, "reason": str(e), "run": str(run_dir)})
            raise typer.Exit(1) from None
        raise _fail(str(e)) from None
    data = choice_dict(choice) | {"commit": run.node(choice.node).commit, "run": str(run_dir)}
    _print_json(data) if as_json else render.view_console().print(render.best(data))


@app.command()
def check(run_dir: RunDir, as_json: JsonFlag = False) -> None:
    """Verify a run: refs, parents, git fsck, SQLite integrity, artifacts. Exit 1 on problems."""
    from dataclasses import asdict

    from rich.markup import escape

    from hgm.archive import check_run

    problems = check_run(run_dir)
    if as_json:
        _print_json({"ok": not problems, "problems": [asdict(p) for p in problems]})
    elif problems:
        for p in problems:
            err_console.print(f"[red]✗[/] {escape(p.message)}", highlight=False)
    else:
        console.print(f"[green]✓[/] {escape(str(run_dir))} is consistent")
    if problems:
        raise typer.Exit(1)


@app.command()
def simulate(
    policies: Annotated[str, typer.Option(help="Comma-separated policy specs.")] = "hgm,dgm,greedy,random",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per policy (S..S+N-1, S from --seed-start).")] = 40,
    seed_start: Annotated[int, typer.Option(min=0, help="First seed (0 keeps the documented tables' seeds).")] = 0,
    budget: Annotated[int, typer.Option(min=1, help="Budget per run, in evaluation units.")] = 400,
    mismatch: Annotated[
        str, typer.Option(help="Mismatch in [0,1] (0: pass rate = potential; 1: unrelated); a comma list sweeps.")
    ] = "0.7",
    out: Annotated[Path | None, typer.Option(help="Write every simulated run in the archive format under this folder.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="One small HGM run, shown as a tree.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare search policies on a synthetic self-improvement landscape (no LLM, no sandbox)."""
    from hgm import sim

    if demo:
        console.print(sim.demo())
        return
    try:
        values = [float(x) for x in mismatch.split(",")]
    except ValueError:
        raise _fail(f"--mismatch must be numbers in [0, 1], comma-separated, not {mismatch!r}") from None
    if any(not 0 <= v <= 1 for v in values):
        raise _fail("--mismatch values must lie in [0, 1]")
    specs = [p.strip() for p in policies.split(",") if p.strip()]
    with render.progress(console, enabled=not as_json) as progress:
        result = sim.compare(
            specs, seeds=seeds, budget=budget,
            mismatch=values if len(values) > 1 else values[0], out=out, progress=progress,
            seed_start=seed_start,
        )
    _print_json(result) if as_json else console.print(sim.render_report(result))


bench_app = typer.Typer(help="Benchmarks: list them, check that their tasks are sound.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("list")
def bench_list(as_json: JsonFlag = False) -> None:
    """The benchmark schemes, their parameters, and the built-in tasks with their tiers."""
    from hgm.bench.check import list_benchmarks

    data = list_benchmarks()
    _print_json(data) if as_json else console.print(render.benchmarks(data))


@bench_app.command("check")
def bench_check(
    bench: Annotated[str, typer.Argument(help="Benchmark spec: builtin, dir:PATH, polyglot:PATH, ...")],
    sandbox: Annotated[str, typer.Option(help="Sandbox the tests run in: local, local?bwrap=0, docker.")] = "local",
    time_limit: Annotated[float, typer.Option(help="Seconds each run of a test command may take.")] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """Every task loads; hidden tests fail untouched, pass with the reference solution, agree twice."""
    from hgm.bench.check import check_spec
    from hgm.sandbox import get_sandbox

    try:
        box = get_sandbox(sandbox)
    except (ValueError, ImportError) as e:
        raise _fail(str(e)) from None
    try:
        with render.progress(console, enabled=not as_json, label="checking tasks") as bar:
            checked = itertools.count(1)
            report = check_spec(bench, box, progress=bar and (lambda _task: bar(next(checked), None)),
                                time_limit_s=time_limit)
    finally:
        box.close()
    data = report.to_json()
    _print_json(data) if as_json else console.print(render.bench_report(data))
    if data["problems"]:
        raise typer.Exit(1)


sandbox_app = typer.Typer(help="Sandbox images and backends.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(skills_app, name="skills")


@sandbox_app.command("build")
def sandbox_build(
    toolchains: Annotated[bool, typer.Option(help="Add node, go, rust, java and g++ for multi-language benchmarks.")] = False,
    force: Annotated[bool, typer.Option(help="Rebuild even when an image of this recipe exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Build the Docker sandbox image (offline from Debian packages when no registry answers)."""
    from hgm.sandbox import SandboxError
    from hgm.sandbox.image import build_image

    try:
        with console.status("building the sandbox image (about a minute the first time)", spinner="dots"):
            built = build_image(toolchains=toolchains, force=force)
    except SandboxError as e:
        raise _fail(str(e)) from None
    data = {"tag": built.tag, "route": built.route, "seconds": round(built.duration_s, 1)}
    if as_json:
        _print_json(data)
    else:
        how = "already built" if built.route == "reused" else f"built ({built.route} route)"
        console.print(f"{built.tag}  {how} in {built.duration_s:.1f} s")


@app.command()
def doctor(
    as_json: JsonFlag = False,
    executor: Annotated[str | None, typer.Option(help="Also check every node of a cluster: ray (ray?address=HOST:PORT).")] = None,
    sandbox: Annotated[str, typer.Option(help="The sandbox spec the cluster's nodes are checked with.")] = "auto",
) -> None:
    """Check what hgm needs on this machine (Docker engine, image, bubblewrap, gVisor), and how to fix it."""
    from dataclasses import asdict

    from hgm.doctor import doctor as run_checks

    checks = run_checks()
    if executor is not None and executor.partition("?")[0] == "ray":
        from hgm.executor.ray_doctor import cluster_checks

        checks += cluster_checks(executor, sandbox)
    if as_json:
        _print_json([asdict(c) for c in checks])
    else:
        console.print(render.checks(checks))
    if not all(c.ok or c.optional for c in checks):
        raise typer.Exit(1)


web_commands.register(app)  # hgm serve, hgm export-html


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
