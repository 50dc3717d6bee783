"""One driver session of a run: what it was asked to do, what it changed, how it ended.

``hgm run`` starts a run or resumes one; each such session is planned here from the
command line (:func:`plan_run`), recorded in the run's events (``started`` or ``resumed``
with the flags given, the effective config and the hgm version; ``stopped`` with the stop
reason and the exit kind), and listed by ``hgm status`` (:func:`sessions`).

Exit codes of ``hgm run`` (:class:`ExitCode`) are fixed here too, so scripts and CI can
tell a finished run from one that needs attention.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from hgm.config import (
    ConfigError,
    RunConfig,
    absolute_paths,
    load_config,
    read_config_file,
    validate,
)


class ExitCode(IntEnum):
    """What the exit status of ``hgm run`` means."""

    FINISHED = 0
    """The run finished within its budget: a budget was reached, or the policy stopped."""
    LOCKED = 1
    """The run did not start: another driver holds it (the message names its pid), or a
    preflight check failed (the model, the sandbox, the benchmark's files). Nothing was spent."""
    BAD_INPUT = 2
    """A flag, the config file or the benchmark is wrong; nothing was written."""
    ERRORS = 3
    """Stopped on errors: infrastructure errors in a row, expansions that produced no valid
    child, or a sandbox that stayed unavailable. Fix the cause and resume."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT). Resume to go on."""


STOP_KIND_EXIT = {"finished": ExitCode.FINISHED, "errors": ExitCode.ERRORS,
                  "interrupted": ExitCode.INTERRUPTED}
"""The loop's kind of stop (``SearchSummary.kind``) -> the exit code."""


@dataclass(frozen=True)
class RunPlan:
    """A session of ``hgm run``, checked and with every path absolute."""

    config: RunConfig
    out: Path
    resume: bool
    overrides: dict[str, Any] = field(default_factory=dict)
    """The flags given on the command line (those not given are left out)."""
    changed: dict[str, list] = field(default_factory=dict)
    """On resume: each setting the flags changed, as ``{field: [old, new]}``."""


def plan_run(
    *,
    overrides: dict[str, Any],
    config_file: Path | None = None,
    out: Path | None = None,
    resume: Path | None = None,
    allow_model_change: bool = False,
    cwd: Path | None = None,
) -> RunPlan:
    """Check the command line of ``hgm run`` and resolve its paths against ``cwd``.

    Raises ConfigError (one line per problem) for a bad config, a resume of something that
    is not a run, or a model change on resume without ``allow_model_change``.
    """
    cwd = Path(os.path.abspath(cwd or os.getcwd()))
    given = {k: v for k, v in overrides.items() if v is not None}
    if resume is None:
        config = load_config(config_file, given, cwd=cwd)
        # The model is frozen as resolved (HGM_MODEL included): a resume uses the same one.
        config = config.model_copy(update={"model": config.resolved_model()})
        return RunPlan(config, _under(cwd, out or default_out()), False, given)
    if out is not None or config_file is not None:
        raise ConfigError("--resume continues a run with its own config; drop --out and --config")
    folder = _under(cwd, resume)
    if not (folder / "config.yaml").is_file():
        raise ConfigError(f"{folder} is not a run folder (no config.yaml)")
    frozen = read_config_file(folder / "config.yaml")
    # Paths in a frozen config are absolute; those of runs made before that, from the cwd.
    before = validate(absolute_paths(frozen, cwd), folder / "config.yaml")
    after = validate(absolute_paths(frozen | given, cwd))
    if after.model is None:
        after = after.model_copy(update={"model": after.resolved_model()})
    if before.model and after.model != before.model and not allow_model_change:
        raise ConfigError(
            f"{folder} was run with model {before.model!r}; to go on with {after.model!r} "
            "add --allow-model-change (the change is recorded in the run's events)"
        )
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changed = {k: [old[k], new[k]] for k in new if old[k] != new[k]}
    return RunPlan(after, folder, True, given, changed)


def default_out(root: Path = Path("archive")) -> Path:
    """``archive/run-<time>``, relative: :func:`plan_run` puts it under the working directory."""
    from datetime import datetime

    return root / datetime.now().strftime("run-%Y%m%d-%H%M%S")


# -- events ------------------------------------------------------------------------------


def start_event(plan: RunPlan) -> tuple[str, dict]:
    """The ``started`` / ``resumed`` event of a session: kind and data."""
    from hgm import __version__

    data = {
        "pid": os.getpid(),
        "hgm_version": __version__,
        "overrides": _jsonable(plan.overrides),
        "config": plan.config.model_dump(mode="json"),
    }
    if plan.resume:
        data["changed"] = plan.changed
    return ("resumed" if plan.resume else "started"), data


def stop_event(reason: str, kind: str, abandoned: int) -> dict:
    """The ``stopped`` event: why, the kind of stop and the exit code it gives."""
    code = STOP_KIND_EXIT.get(kind, ExitCode.FINISHED)
    return {"reason": reason, "kind": kind, "exit_code": int(code), "abandoned": abandoned}


def failed_event(error: BaseException) -> dict:
    """The ``stopped`` event of a session that ended in an exception (a preflight check
    that failed, a crash): its first line, kind ``failed``."""
    text = str(error).strip().splitlines()
    reason = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return {"reason": reason, "kind": "failed", "exit_code": None, "abandoned": 0}


SESSION_EVENTS = ("started", "resumed", "stopped")
"""The event kinds :func:`sessions` reads."""


def sessions(events: list[dict]) -> list[dict]:
    """Each session of the run, in order, from its events: when it started, whether it was
    a resume, the flags given, what they changed, and how it stopped (``None`` while it
    runs, or when its driver was killed before it could say)."""
    found: list[dict] = []
    for event in events:
        data = event.get("data") or {}
        if event["kind"] in ("started", "resumed"):
            found.append({
                "started_at": event["created_at"],
                "kind": event["kind"],
                "pid": data.get("pid"),
                "overrides": data.get("overrides", {}),
                "changed": data.get("changed", {}),
                "stop_reason": None,
                "stop_kind": None,
                "exit_code": None,
                "stopped_at": None,
            })
        elif event["kind"] == "stopped" and found and found[-1]["stop_kind"] is None:
            found[-1].update(stop_reason=data.get("reason"), stop_kind=data.get("kind"),
                             exit_code=data.get("exit_code"), stopped_at=event["created_at"])
    return found


def _under(cwd: Path, path: Path) -> Path:
    return Path(os.path.normpath(cwd / Path(path).expanduser()))


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
