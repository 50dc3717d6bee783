"""More than one attempt at a task (``Task.tries``), as Aider's benchmark harness runs them.

After a failed attempt the agent runs again on the workspace it left, with the output of
the hidden tests added to its instructions. One attempt is the default (DGM and HGM run
one); ``polyglot:PATH?tries=2`` gives Aider's protocol, whose scores its leaderboard reports.
"""

from __future__ import annotations

import json

from hgm.sandbox import RunResult
from hgm.types import Task

OUTPUT_CHARS = 8_000
"""How much of the failed run's test output the next attempt sees (its tail)."""


def retry_instructions(task: Task, tests: RunResult, attempt: int) -> str:
    """The task's instructions, followed by the failed test run's output, for ``attempt``."""
    output = (tests.stdout + "\n" + tests.stderr).strip()
    if len(output) > OUTPUT_CHARS:
        output = "[... earlier output cut ...]\n" + output[-OUTPUT_CHARS:]
    return (
        f"{task.instructions}\n\n"
        f"## Attempt {attempt}: the tests failed\n\n"
        "Your previous attempt is in the workspace. Running the tests on it gave this output:\n\n"
        f"```\n{output}\n```\n\n"
        "The tests are correct: do not change them. Fix the solution so that they pass.\n"
    )


def join_trajectories(trajectories: list[bytes]) -> bytes:
    """One trajectory for several attempts: their tool calls and messages in order, with
    ``attempts`` (each attempt's own trajectory); raw bytes, joined, when one is not a JSON
    object."""
    if len(trajectories) == 1:
        return trajectories[0]
    try:
        parsed = [json.loads(t) for t in trajectories]
    except ValueError:
        parsed = []
    if not parsed or not all(isinstance(p, dict) for p in parsed):
        return b"\n".join(trajectories)
    joined: dict = dict(parsed[-1])
    for key in ("tool_calls", "messages"):
        parts = [p.get(key) for p in parsed]
        if all(isinstance(part, list) for part in parts):
            joined[key] = [item for part in parts for item in part]
    joined["attempts"] = parsed
    return json.dumps(joined).encode()
