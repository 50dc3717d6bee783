"""The read-only views (`hgm show/diff/best/tree/status`) on runs a user could have.

The runs are written with the archive's own API (real git, real SQLite): a seed that failed
every task, a child whose proposal holds brackets, a child never evaluated, an invalid child.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hgm.archive import Run
from hgm.cli import app
from hgm.types import NodeKind, NodeStatus, Outcome

TASKS = ["t-alpha", "t-beta", "t-gamma"]
BRACKETED = (
    "The view tool ends long files with '[truncated: file has 300 lines; only the first 100 "
    "shown]' and offers no way to see the rest; [bold]raise[/bold] its limit so that whole "
    "source files fit, or add a way to view a given line range, and keep the agent's tests green."
)
REASON = "[red]harness[/red] said: [exit 1]"


def _child(run: Run, tmp: Path, parent: int, name: str, **kw) -> int:
    tree = tmp / name
    tree.mkdir()
    (tree / "agent.py").write_text(f"print({name!r})\n")
    return run.add_node(parent, tree, kind=NodeKind.EDIT, **kw).id


@pytest.fixture(scope="module")
def views_run(tmp_path_factory) -> Path:
    """node 0: 0/3 · node 1 (bracketed proposal): 1/1 · node 2: never evaluated · node 3: invalid."""
    tmp = tmp_path_factory.mktemp("views")
    seed = tmp / "seed"
    seed.mkdir()
    (seed / "agent.py").write_text("print('seed')\n")
    out = tmp / "run"
    with Run.create(out, seed, config={"final_min_evals": 5}, task_ids=TASKS) as run:
        for i in range(3):
            run.record_evaluation(0, i, Outcome.FAIL, duration_s=1.0, reason=REASON if i == 0 else None)
        one = _child(run, tmp, 0, "one", proposal=BRACKETED)
        run.record_evaluation(one, 0, Outcome.PASS, duration_s=2.0, reason=REASON)
        _child(run, tmp, 0, "two", proposal="Never evaluated.")
        _child(run, tmp, 0, "three", proposal="Broke itself.", status=NodeStatus.INVALID, reason="self-check failed")
    return out


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory) -> Path:
    """A run whose seed has no evaluation yet (as after a crash before the first one)."""
    tmp = tmp_path_factory.mktemp("fresh")
    seed = tmp / "seed"
    seed.mkdir()
    (seed / "agent.py").write_text("print('seed')\n")
    Run.create(tmp / "run", seed, config={"final_min_evals": 5}, task_ids=TASKS).close()
    return tmp / "run"


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


# -- 1. a missing node is a message, not a traceback -------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("show", "{run}", 99), ("diff", "{run}", 99), ("diff", "{run}", 1, "--against", 99), ("show", "{run}", 99, "--json")],
    ids=["show", "diff", "diff-against", "show-json"],
)
def test_a_missing_node_is_a_one_line_error_naming_the_run_and_the_node(views_run, args):
    result = _cli(*(str(a).format(run=views_run) for a in args))
    _one_line_error(result, str(views_run), "no node 99")


# -- 2. best is never a node without the evaluations the rule needs -----------------------------
def test_best_of_a_run_without_evaluations_says_so_and_exits_1(fresh_run):
    _one_line_error(_cli("best", fresh_run), "no valid node has been evaluated yet")


def test_best_with_too_few_evaluations_names_the_closest_candidate_and_exits_1(views_run):
    # node 0: 0/3, node 1: 1/1; the run's final_min_evals is 5. The candidate is the best
    # posterior lower bound among evaluated nodes (node 1), not the most evaluated (node 0).
    _one_line_error(_cli("best", views_run), "needs", "5 evaluations", "node 1, has 1")
    result = _cli("best", views_run, "--json")  # a script still gets JSON it can parse
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["node"] is None and "5 evaluations" in data["reason"]


def test_best_reports_only_a_node_with_the_evaluations_asked_for(views_run):
    result = _cli("best", views_run, "--min-evals", 3)
    assert result.exit_code == 0 and "best agent: node 0" in result.stdout
    result = _cli("best", views_run, "--min-evals", 1)  # node 2 (no evaluations) must not win
    assert result.exit_code == 0 and "best agent: node 1" in result.stdout
    assert _cli("best", views_run, "--min-evals", 0).exit_code != 0


def test_status_and_tree_call_no_node_best_before_one_qualifies(views_run):
    status = _cli("status", views_run)
    assert status.exit_code == 0 and "none yet" in status.stdout and "node 1, has 1" in status.stdout
    data = json.loads(_cli("status", views_run, "--json").stdout)
    assert data["best"] is None and data["best_candidate"]["node"] == 1 and data["final_min_evals"] == 5
    below_legend = _cli("tree", views_run).stdout.splitlines()[1:]
    assert below_legend and not any("★" in line for line in below_legend)


# -- 3. the tree's point estimate lies inside its own interval ---------------------------------
def test_every_cmp_shown_lies_inside_its_interval_and_the_legend_says_what_it_is(views_run):
    out = _cli("tree", views_run).stdout
    shown = re.findall(r"cmp (\d+)% \[(\d+)%, (\d+)%\]", out)
    assert len(shown) == 2  # nodes 0 and 1 have results; 2 none; 3 is invalid
    for point, lower, upper in shown:
        assert int(lower) <= int(point) <= int(upper), out
    assert "posterior mean" in out.splitlines()[0] and "95%" in out.splitlines()[0]


def test_tree_json_cmp_is_inside_its_interval_with_the_raw_counts(views_run):
    rows = json.loads(_cli("tree", views_run, "--json").stdout)
    seed = next(r for r in rows if r["node"] == 0)
    assert (seed["clade_passes"], seed["clade_evals"]) == (1, 4)
    for r in rows:
        if r["cmp"] is not None:
            assert r["cmp_lower"] <= r["cmp"] <= r["cmp_upper"]


# -- 4. run data is printed as text, never read as markup --------------------------------------
def test_show_prints_brackets_in_the_proposal_and_reasons_verbatim(views_run):
    out = _cli("show", views_run, 1).stdout
    assert "[truncated: file has 300 lines; only the first 100 shown]" in out
    assert "[bold]raise[/bold]" in out
    assert REASON in out


def test_show_of_the_seed_prints_reasons_verbatim(views_run):
    assert REASON in _cli("show", views_run, 0).stdout


# -- 5. piped output is not wrapped at 80 columns ------------------------------------------------
def _piped(*args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "hgm.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)


def test_piped_views_keep_each_line_whole(views_run):
    show = _piped("show", views_run, 1)
    assert show.returncode == 0, show.stderr
    assert any(BRACKETED in line for line in show.stdout.splitlines()), show.stdout
    status = _piped("status", views_run)
    assert any("none yet" in line and "node 1, has 1 (1 passed)" in line for line in status.stdout.splitlines()), status.stdout
    tree = _piped("tree", views_run)
    assert "posterior mean [95% credible interval]" in tree.stdout.splitlines()[0]
    best = _piped("best", views_run, "--min-evals", 3)
    inspect = f"inspect: hgm show {views_run} 0 · hgm diff {views_run} 0 --against root"
    assert len(inspect) > 80 and any(line.strip() == inspect for line in best.stdout.splitlines()), best.stdout
