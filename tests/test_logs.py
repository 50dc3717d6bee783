"""`hgm logs`: an evaluation's trajectory and test log, and a node's LLM calls.

One real scripted run (real gateway, real seed agent, local sandbox) gives trajectories in
the seed agent's format; a run written with the archive's API gives the agent-written
trajectories a view must survive: not JSON, nested without end, odd shapes, huge, missing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hgm.archive import Run
from hgm.cli import app
from hgm.types import NodeKind, Outcome

REAL_TASKS = ["csv-quoted-fields", "duration-ms-suffix"]
ODD = ["not-json", "deep", "odd-shapes", "nothing", "huge-list", "many", "no-agent", "lost"]
NO_AGENT = "python3: can't open file '/agent/run_agent.py': [Errno 2] No such file or directory"
HUGE = 1_000_000


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("logs") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "run", "--model", "scripted:demo",
         "--benchmark", f"builtin?ids={','.join(REAL_TASKS)}", "--sandbox", "local",
         "--max-evals", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert (out / "hgm.db").is_file(), proc.stdout + proc.stderr
    with Run.open(out, readonly=True) as run:
        assert len(run.evaluations(0)) == 2, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory) -> Path:
    """Node 0 has one evaluation per odd trajectory (task = its name); node 1 has none."""
    tmp = tmp_path_factory.mktemp("odd")
    seed = tmp / "seed"
    seed.mkdir()
    (seed / "agent.py").write_text("print('seed')\n")
    odd_messages = {
        "finish_reason": "step_limit", "errors": ["boom \x1b[31mred"],
        "messages": [
            1,
            {"role": "assistant", "content": [{"type": "text", "text": "thinking [bold]aloud[/bold]"}],
             "tool_calls": [5, {"function": "x"}, {"function": {"name": "bash", "arguments": {"command": "ls -la"}}}]},
            {"role": "tool", "tool_call_id": ["weird"], "content": "line\n" * (HUGE // 5)},
            {"role": None, "content": {"nested": [1, 2, {"deeper": None}]}},
        ],
    }
    many_calls = [{"function": {"name": "bash", "arguments": {f"k{j}": j for j in range(300)}}} for _ in range(200)]
    many = {"messages": [{"role": "user", "content": f"m{i}"} for i in range(5000)]}
    many["messages"][0] = {"role": "assistant", "content": "", "tool_calls": many_calls}
    trajectories = {
        "not-json": b"agent crashed \x1b[2J\xff\xfe before writing JSON",
        "deep": b"[" * 100_000,
        "odd-shapes": json.dumps(odd_messages).encode(),
        "nothing": None,
        "huge-list": json.dumps(list(range(HUGE // 8))).encode(),
        "many": json.dumps(many).encode(),
        "no-agent": json.dumps({"missing_trajectory": True, "exit_code": 2, "timed_out": False,
                                "stdout": "", "stderr": NO_AGENT, "error": None}).encode(),
        "lost": b'{"messages": []}',
    }
    with Run.create(tmp / "run", seed, config={}, task_ids=ODD) as run:
        for i, task in enumerate(ODD):
            log = None if task == "nothing" else f"test log of {task}\n" + "x" * 50 + "\n"
            run.record_evaluation(0, i, Outcome.FAIL, trajectory=trajectories[task], test_log=log)
        lost = run.evaluations(0)[-1]
        run.store.path(lost.trajectory).unlink()  # an artifact gone from disk
        (tmp / "child").mkdir()
        (tmp / "child" / "agent.py").write_text("print('child')\n")
        run.add_node(0, tmp / "child", kind=NodeKind.EDIT, proposal="never evaluated")
    return tmp / "run"


# -- a real run: the seed agent's trajectories ---------------------------------------------------
@pytest.mark.slow
def test_logs_lists_the_evaluations_and_prints_the_latest_trajectory_and_test_log(real_run):
    result = _cli("logs", real_run, 0)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "node 0 · 2 evaluations" in out and all(t in out for t in REAL_TASKS)
    assert "(the latest; choose another with --task)" in out
    for step in ("── system", "── user", "── call view", "── tool result", "── call finish"):
        assert step in out, step
    assert "finish_reason" in out and "test log" in out and "exit code" in out


@pytest.mark.slow
def test_logs_task_shows_that_tasks_evaluation(real_run):
    for task in REAL_TASKS:
        out = _cli("logs", real_run, 0, "--task", task).stdout
        assert re.search(rf"evaluation \d+ · task {task} · (pass|fail|error)", out), out


@pytest.mark.slow
def test_logs_llm_lists_the_nodes_calls_with_tokens_cost_and_summaries(real_run):
    out = _cli("logs", real_run, 0, "--llm").stdout
    assert "LLM calls of this node" in out
    assert re.search(r"│ evaluation-\w+\s+│ demo\s+│ \d+/\d+\s+│ \$0\.\d{4}", out), out
    assert "request: " in out and "messages; last " in out and "response: " in out and "→ view(" in out


@pytest.mark.slow
def test_logs_json_gives_the_raw_records(real_run):
    data = json.loads(_cli("logs", real_run, 0, "--json", "--llm").stdout)
    assert data["node"] == 0 and len(data["evaluations"]) == 2
    shown = data["evaluation"]
    assert shown["id"] == data["evaluations"][-1]["id"]
    assert isinstance(shown["trajectory_content"]["messages"], list)
    assert "exit code" in shown["test_log_content"]
    assert data["llm_calls"] and {"scope_kind", "model", "request", "response", "prompt_tokens"} <= set(data["llm_calls"][0])


# -- errors are one line, exit 1 -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((99,), "has no node 99"),
        ((0, "--task", "no-such-task"), "has no task 'no-such-task'"),
        ((1,), "node 1 of run"),
        ((1, "--task", "deep"), "node 1 has no evaluation of task 'deep'"),
        ((99, "--json"), "has no node 99"),
    ],
    ids=["no-node", "no-task", "no-evaluations", "task-not-evaluated", "json-no-node"],
)
def test_logs_errors_are_one_line_and_exit_1(odd_run, args, message):
    result = _cli("logs", odd_run, *args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit | None)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_logs_of_a_node_without_evaluations_still_lists_its_llm_calls_with_llm(odd_run):
    result = _cli("logs", odd_run, 1, "--llm")
    assert result.exit_code == 0 and "node 1 · 0 evaluations" in result.stdout


# -- agent-written trajectories of any shape never crash the view --------------------------------
@pytest.mark.parametrize("task", ODD)
def test_logs_survives_any_trajectory_and_bounds_what_it_prints(odd_run, task):
    result = _cli("logs", odd_run, 0, "--task", task)
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"task {task}" in result.stdout
    assert len(result.stdout) < 100_000  # each artifact is up to 1 MB
    assert "\x1b" not in result.stdout  # no terminal escapes from agent text
    assert json.loads(_cli("logs", odd_run, 0, "--task", task, "--json").stdout)["evaluation"]["task"] == task


def test_long_outputs_are_folded_with_a_marker_saying_how_much(odd_run):
    out = _cli("logs", odd_run, 0, "--task", "odd-shapes").stdout
    assert re.search(r"… [\d,]+ characters \([\d,]+ lines\) folded …", out), out
    assert "thinking [bold]aloud[/bold]" in out  # content parts, verbatim (not markup)
    assert "── call bash" in out and "command: ls -la" in out
    assert "\\x1b[31mred" in out  # the escape is shown, not sent to the terminal


def test_missing_trajectory_and_test_log_are_noted(odd_run):
    nothing = _cli("logs", odd_run, 0, "--task", "nothing").stdout
    assert "no trajectory was recorded" in nothing and "no test log was recorded" in nothing
    lost = _cli("logs", odd_run, 0, "--task", "lost").stdout
    assert "the trajectory cannot be read" in lost and "test log of lost" in lost


def test_a_trajectory_that_is_not_json_is_shown_as_text(odd_run):
    out = _cli("logs", odd_run, 0, "--task", "not-json").stdout
    assert "agent crashed \\x1b[2J" in out and "before writing JSON" in out
    assert "trajectory (not in a known format)" in _cli("logs", odd_run, 0, "--task", "deep").stdout


@pytest.mark.parametrize("text", ["line\n" * 200_000, "x" * 1_000_000, "\n" * 5_000, ("y" * 300 + "\n") * 30])
def test_fold_keeps_head_and_tail_and_its_marker_counts_what_it_left_out(text):
    from hgm.logs import fold

    folded = fold(text, max_lines=40, max_chars=3000)
    head, marker, tail = re.split(r"\n?(… [\d,]+ characters \([\d,]+ lines\) folded …)\n?", folded)
    chars, lines = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", marker))
    assert len(folded) < 3200 and folded.count("\n") <= 42
    assert text.startswith(head) and text.endswith(tail)
    assert text[len(head) + 1 if head else 0 : len(text) - len(tail)].count("\n") in (lines, lines + 1)
    assert len(head) + chars + len(tail) in (len(text), len(text) - 1)


def test_a_trajectory_with_thousands_of_steps_is_cut_with_a_count_of_what_is_left_out(odd_run):
    out = _cli("logs", odd_run, 0, "--task", "many").stdout
    assert "180 more tool calls in this message not shown" in out
    assert re.search(r"note: 4,\d{3} more messages not shown \(see --json\)", out), out[-2000:]
    assert "k0: 0" in out and "k299: 299" in out and "folded" in out  # 300 arguments, folded together


def test_an_agent_that_wrote_no_trajectory_shows_what_it_printed(odd_run):
    out = _cli("logs", odd_run, 0, "--task", "no-agent").stdout
    assert "missing_trajectory" in out and "exit_code" in out
    assert "── stderr" in out and NO_AGENT in out
