"""Checks made before a run's first decision, so that a run that cannot work stops at once,
with one line that says why, before any evaluation is started or paid for.

- :func:`priced_backend` (when the backend is built): a run with ``max_usd`` needs a model
  whose price is known, else its budget would count every call as $0;
- :func:`preflight` (once the gateway is up): the benchmark's tasks are on disk, the sandbox
  passes ``hgm doctor``'s checks for its backend and runs the tasks' own container images
  where they have one, and one cheap model call goes through the
  gateway (recorded like any call, with scope ``other``). A provider that refuses the key, does
  not know the model, or keeps failing is found here instead of in every evaluation.
"""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hgm.config import ConfigError, RunConfig
from hgm.gateway import (
    BudgetExhausted,
    ChatRequest,
    ModelBackend,
    ModelError,
    Scope,
    TransientModelError,
)
from hgm.types import Task

log = logging.getLogger(__name__)

PREFLIGHT_SCOPE = Scope("other", ref="preflight")
PREFLIGHT_MAX_TOKENS = 16
"""Reply cap of the model check: enough for any model to answer, cheap at any price."""


class PreflightError(Exception):
    """A check before the first decision failed; the message is one line naming what and why."""


# --- prices -------------------------------------------------------------------------------


def priced_backend(backend: ModelBackend, config: RunConfig) -> ModelBackend:
    """``backend`` charging the config's price (``input_cost_per_1m``/``output_cost_per_1m``),
    or $0 under ``allow_free`` when no price is known.

    Raises ConfigError when ``max_usd`` is set and the model's price is unknown: such a budget
    would count every call as $0 and never stop the run.
    """
    from hgm.gateway.litellm_backend import Price

    given = (config.input_cost_per_1m, config.output_cost_per_1m)
    if not hasattr(backend, "priced"):  # litellm and hf: models take prices; scripted ones not
        if given != (None, None):
            raise ConfigError(
                f"input_cost_per_1m/output_cost_per_1m price litellm and hf: models, not {backend.name!r} "
                "(a scripted model takes ?cost_usd=... per call)"
            )
        return backend  # scripted models report their own cost
    if given != (None, None):
        if None in given:
            raise ConfigError("give both input_cost_per_1m and output_cost_per_1m, or neither")
        backend = backend.priced(Price.per_million(*given))
    elif config.allow_free and backend.known_price() is None:
        backend = backend.priced(Price(0.0, 0.0))
    if config.max_usd is not None and backend.known_price() is None:
        raise ConfigError(
            f"--max-usd cannot be kept: no price is known for {backend.name}; give one "
            "(?input_cost_per_1m=...&output_cost_per_1m=... in the model string, or "
            "input_cost_per_1m/output_cost_per_1m in the config) or say it is free with --allow-free"
        )
    return backend


# --- preflight ----------------------------------------------------------------------------


def preflight(
    gateway: Any, sandbox: Any, tasks: Sequence[Task], *, probe_model: bool = True
) -> None:
    """Check the benchmark, the sandbox and the model, cheapest first; PreflightError on the
    first that fails.

    ``gateway`` is the run's started :class:`~hgm.gateway.Gateway`. ``probe_model=False``
    (scripted models: a script is not a provider, and its replies are the test's to spend)
    checks only that the gateway's socket answers, as sandboxes will reach it.
    """
    check_tasks(tasks)
    check_sandbox(getattr(sandbox, "name", ""))
    check_task_images(tasks, getattr(sandbox, "name", ""))
    check_endpoint(Path(gateway.socket_path))
    if probe_model:
        check_model(gateway)


def check_tasks(tasks: Sequence[Task]) -> None:
    """Every task's workspace and hidden tests are on disk (a moved checkout is found here)."""
    if not tasks:
        raise PreflightError("benchmark: it has no tasks")
    for task in tasks:
        for what, path in (("workspace", task.workspace), ("tests", task.tests)):
            if not Path(path).is_dir():
                raise PreflightError(f"benchmark: task {task.id}: its {what} {path} is not a folder")


def check_task_images(tasks: Sequence[Task], sandbox_name: str) -> None:
    """A task with its own container image (a SWE-bench instance image) needs a sandbox that
    runs images: in any other, each of its evaluations would be an infrastructure error."""
    if sandbox_name.startswith("docker"):
        return
    for task in tasks:
        if task.image is not None:
            raise PreflightError(
                f"benchmark: task {task.id} runs in container image {task.image}, which only "
                f"the docker sandbox runs, not {sandbox_name or 'this one'}: use --sandbox docker"
            )


def check_sandbox(name: str) -> None:
    """``hgm doctor``'s required checks for the sandbox backend in use (``docker...``,
    ``local...``); the optional ones only warn."""
    from hgm.doctor import sandbox_checks

    for check in sandbox_checks(name):
        if check.ok:
            continue
        if check.optional:
            log.info("sandbox %s: %s: %s", name, check.name, check.detail)
            continue
        fix = f"; fix: {check.fix}" if check.fix else ""
        raise PreflightError(f"sandbox {name}: {check.name}: {check.detail}{fix}")


def check_endpoint(socket_path: Path, timeout_s: float = 10.0) -> None:
    """The gateway answers ``/health`` on its unix socket, the way sandboxes reach it."""
    conn = _UnixHTTPConnection(str(socket_path), timeout_s)
    try:
        conn.request("GET", "/health")
        status = conn.getresponse().status
    except OSError as e:
        raise PreflightError(f"the LLM gateway does not answer on {socket_path}: {e}") from None
    finally:
        conn.close()
    if status != 200:
        raise PreflightError(f"the LLM gateway answered /health with HTTP {status}")


def check_model(gateway: Any) -> None:
    """One short call through the gateway (its retries and time limit included)."""
    request = ChatRequest(
        model=gateway.backend.name,
        messages=[{"role": "user", "content": "This is a connection check. Reply with: OK"}],
        max_tokens=PREFLIGHT_MAX_TOKENS,
    )
    try:
        gateway.complete(request, PREFLIGHT_SCOPE)
    except BudgetExhausted as e:
        raise PreflightError(f"model check: {e}") from None
    except (ModelError, TransientModelError) as e:
        raise PreflightError(f"model check failed: {e}") from None


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout_s: float) -> None:
        super().__init__("localhost", timeout=timeout_s)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
