"""Jobs as Ray tasks on the nodes of a Ray cluster; the driver stays the archive's only writer.

``--executor ray`` (``ray?address=auto&num_cpus_per_job=1&gateway_host=IP&gateway_port=0``)
connects to a running cluster (``ray start --head`` / ``ray start --address``; docs/ray.md).
Each job is pinned to one node that passed its sandbox check (the node with the fewest jobs
of this run), and runs there as a Ray task without retries: a node that dies takes its jobs
with it, and each comes back as an infrastructure error (an evaluation owed again, an
expansion recorded as a failed attempt with the reason). Nodes that join are checked before
they get work; nodes that leave get none.

Ray starts a worker's processes with the environment of the ``ray start`` that made its node,
never the driver's: nothing here sets a ``runtime_env``, so no key of the driver travels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hgm.executor import LOST_MARK
from hgm.executor.ray_jobs import NodeSetup, RayWorker, RemoteJob, run_on_node
from hgm.jobs.expansion import InfrastructureError

CHECK_COMMAND = "python3 -c 'print(\"sandbox ok\")'"
_REFRESH_S = 5.0  # how often the node list is asked during a run
_HEAD_POLL_S = 2.0  # how often the head's GCS port is tried


@dataclass(frozen=True)
class NodeReport:
    """One Ray node as the executor sees it: whether its sandbox works, and its jobs now."""

    node_id: str
    address: str
    ok: bool
    detail: str
    busy: int = 0
    done: int = 0
    """Jobs of this run that finished (or were lost) on the node."""


def probe_node(sandbox_spec: str, command: str) -> tuple[bool, str]:
    """Run ``command`` in this node's sandbox: (worked, its output or why not)."""
    import tempfile
    from pathlib import Path

    from hgm.executor.ray_jobs import node_sandbox
    from hgm.sandbox import Mount, RunSpec

    try:
        import hgm.jobs.evaluation
        import hgm.jobs.expansion  # noqa: F401 - imported once here, not in the first job

        sandbox = node_sandbox(sandbox_spec)
        with tempfile.TemporaryDirectory(prefix="hgm-probe-") as tmp:
            (Path(tmp) / "work").mkdir()
            result = sandbox.run(RunSpec(command=command, mounts=(Mount(Path(tmp) / "work", "/work", writable=True),),
                                         time_limit_s=60, memory_mb=512), Path(tmp) / "out")
    except Exception as e:  # noqa: BLE001 - reported per node, one line
        return False, f"{type(e).__name__}: {e}".splitlines()[0]
    if result.error or result.exit_code != 0:
        why = result.error or (result.stderr or result.stdout).strip()[-300:] or f"exit code {result.exit_code}"
        return False, f"the sandbox ({sandbox_spec}) cannot run a command: {why}"
    return True, result.stdout


def worker_environment_names() -> list[str]:
    """The names (never the values) of the variables of the Ray worker process this runs in:
    ``hgm doctor`` names those of each node that look like keys; none should be there."""
    import os

    return sorted(os.environ)


class RayExecutor:
    """Runs :class:`~hgm.executor.ray_jobs.RemoteJob`\\ s on a Ray cluster (see the module)."""

    name = "ray"

    def __init__(self, workers: int, address: str = "auto", num_cpus_per_job: float = 1.0,
                 gateway_host: str | None = None, gateway_port: int = 0):
        try:
            import ray
        except ImportError:
            raise ImportError("the ray executor needs Ray: pip install 'hgm[ray]'") from None
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers, self._cpus = workers, float(num_cpus_per_job)
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            except ConnectionError as e:
                raise ConnectionError(f"no Ray cluster at {address!r} ({e}); start one with "
                                      "`ray start --head` (docs/ray.md)") from None
        host = gateway_host or ray.util.get_node_ip_address()
        self.gateway_listen = {"tcp_host": host, "tcp_port": int(gateway_port)}
        self._remote = ray.remote(run_on_node)
        self._finish = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hgm-ray-finish")
        self._lock = threading.Lock()
        self.nodes: dict[str, NodeReport] = {}
        self._setup: NodeSetup | None = None
        self._sandbox = "local"
        self._checked_at = 0.0
        self._since, self._busy_s = time.monotonic(), 0.0
        self._running: dict[int, tuple[float, Future]] = {}  # id(out future) -> (start, it)
        self.head_lost: str | None = None
        self._closing = threading.Event()
        try:
            gcs = ray.get_runtime_context().gcs_address
        except Exception:  # noqa: BLE001 - a Ray Client (ray://) session does not say: no watchdog
            gcs = None
        if gcs:
            threading.Thread(target=self._watch_head, args=(gcs,), name="hgm-ray-head", daemon=True).start()
        self._run = None  # the run bound (hgm.archive.Run), for node events

    # -- binding to a run -----------------------------------------------------------------
    def bind(self, worker, sandbox_spec: str, gateway_port: int) -> RayWorker:
        """The run's worker, made to build jobs that travel; checks every node's sandbox first."""
        self._sandbox, self._run = sandbox_spec, worker.run
        self._setup = NodeSetup(sandbox_spec, self.gateway_listen["tcp_host"], gateway_port)
        self.refresh(force=True)
        if not any(r.ok for r in self.nodes.values()):
            why = "; ".join(f"{r.address}: {r.detail}" for r in self.nodes.values()) or "the cluster has no nodes"
            raise InfrastructureError(f"no Ray node can run sandboxes: {why}")
        self._since = time.monotonic()
        threading.Thread(target=self._keep_refreshing, name="hgm-ray-nodes", daemon=True).start()
        return RayWorker(worker, self._put)

    def _put(self, data: bytes):
        """``ray.put``, or None once the head is gone (the job then fails at submit)."""
        return None if self.head_lost else self._ray.put(data)

    def _keep_refreshing(self) -> None:
        """Nodes joining and leaving, noticed off the loop's thread (Ray calls can block)."""
        while not self._closing.wait(1.0):
            if self.head_lost:
                return
            with contextlib.suppress(Exception):  # a failed refresh is tried again
                self.refresh()

    def check_nodes(self, sandbox_spec: str, node_ids: list[tuple[str, str]] | None = None) -> list[NodeReport]:
        """Check the sandbox of every alive node (or of ``node_ids``: (id, address) pairs)."""
        node_ids = self.alive() if node_ids is None else node_ids
        # long enough for a node to build the docker sandbox image offline the first time
        results = self.on_each([i for i, _ in node_ids], probe_node, sandbox_spec, CHECK_COMMAND, timeout_s=900)
        reports = []
        for (node_id, address), (finished, value) in zip(node_ids, results, strict=True):
            ok, detail = value if finished else (False, value)
            reports.append(NodeReport(node_id, address, ok, "sandbox ok" if ok else detail))
        return reports

    def alive(self) -> list[tuple[str, str]]:
        """(id, address) of every alive node of the cluster."""
        return [(n["NodeID"], n["NodeManagerAddress"]) for n in self._ray.nodes() if n["Alive"]]

    def on_each(self, node_ids: list[str], fn, *args, timeout_s: float = 120) -> list[tuple[bool, Any]]:
        """``fn(*args)`` run once on each node (no CPU reserved): (finished, its value or why not)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = self._ray.remote(fn)
        refs = [remote.options(num_cpus=0, max_retries=0,
                               scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)).remote(*args)
                for node_id in node_ids]
        results = []
        for ref in refs:
            try:
                results.append((True, self._ray.get(ref, timeout=timeout_s)))
            except Exception as e:  # noqa: BLE001 - a node that died or hangs gets no jobs
                results.append((False, f"the check did not finish: {type(e).__name__}"))
        return results

    def refresh(self, force: bool = False) -> None:
        """Forget nodes that left; check nodes that joined (every few seconds at most)."""
        now = time.monotonic()
        if not force and now - self._checked_at < _REFRESH_S:
            return
        self._checked_at = now
        alive = {n["NodeID"]: n for n in self._ray.nodes() if n["Alive"]}
        with self._lock:
            for gone in set(self.nodes) - set(alive):
                self._event("ray_node_lost", self.nodes.pop(gone))
            new = [n for i, n in alive.items() if i not in self.nodes]
        small = [n for n in new if n["Resources"].get("CPU", 0) < self._cpus]
        reports = [NodeReport(n["NodeID"], n["NodeManagerAddress"], False,
                              f"{n['Resources'].get('CPU', 0):g} CPUs for Ray, a job needs {self._cpus:g}")
                   for n in small]
        check = [(n["NodeID"], n["NodeManagerAddress"]) for n in new if n not in small]
        reports += self.check_nodes(self._sandbox, check) if check else []
        with self._lock:
            for report in reports:
                self.nodes[report.node_id] = report
                self._event("ray_node", report)

    def _event(self, kind: str, report: NodeReport) -> None:
        """A node joining (with its sandbox check) or leaving, as a run event."""
        if self._run is not None:
            self._run.log_event(kind, {"node": report.node_id, "address": report.address, "ok": report.ok,
                                       "detail": report.detail, "jobs": report.done})

    # -- the Executor protocol --------------------------------------------------------------
    def submit(self, job: RemoteJob) -> Future:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not isinstance(job, RemoteJob) or self._setup is None:
            raise TypeError("the ray executor runs RemoteJobs of a bound RayWorker (RayExecutor.bind)")
        out: Future = Future()
        with self._lock:
            usable = [r for r in self.nodes.values() if r.ok]
            if not usable or self.head_lost:  # each such job is an error: ten in a row stop the run
                out.set_exception(InfrastructureError(
                    (self.head_lost or "no Ray node that can run sandboxes is left") + LOST_MARK))
                return out
            node = min(usable, key=lambda r: (r.busy, r.node_id))
            self._count(node.node_id, +1)
            self._running[id(out)] = (time.monotonic(), out)
        strategy = NodeAffinitySchedulingStrategy(node.node_id, soft=False)
        ref = self._remote.options(num_cpus=self._cpus, max_retries=0, scheduling_strategy=strategy).remote(self._setup, job.spec, *job.bundles)
        ref.future().add_done_callback(lambda f: self._finish.submit(self._done, f, job, node, out))
        return out

    def _done(self, ray_future: Future, job: RemoteJob, node: NodeReport, out: Future) -> None:
        with self._lock:
            self._count(node.node_id, -1)
            started = self._running.pop(id(out), None)
            if started is None:  # already settled: the head was lost
                return
            self._busy_s += time.monotonic() - started[0]
        try:
            value = ray_future.result()
        except Exception as e:  # noqa: BLE001 - the node died, the worker crashed, the head left
            first = str(e).splitlines()[0][:300] if str(e) else ""
            with self._lock:  # no more jobs there until a check says it works (refresh)
                if self.nodes.pop(node.node_id, None) is not None:
                    self._event("ray_node_lost", dataclasses.replace(node, ok=False, detail=first))
                self._checked_at = 0.0
            out.set_exception(InfrastructureError(
                f"the job was lost with Ray node {node.address}[{node.node_id[:6]}]: "
                f"{type(e).__name__}: {first}{LOST_MARK}"))
            return
        try:
            out.set_result(job.finish(value))
        except BaseException as e:  # noqa: BLE001 - the job's own failure, for the loop to record
            out.set_exception(e)

    def _watch_head(self, gcs_address: str) -> None:
        """Notice the head going away: Ray would otherwise leave the driver waiting on jobs
        that can no longer come back (and end it a minute later)."""
        host, _, port = gcs_address.rpartition(":")
        misses = 0
        while not self._closing.wait(_HEAD_POLL_S):
            try:
                socket.create_connection((host, int(port)), timeout=_HEAD_POLL_S).close()
                misses = 0
            except OSError:
                misses += 1
            if misses >= 2:
                self._lose_head(f"the Ray cluster's head ({gcs_address}) does not answer; start it "
                                "again, then resume the run")
                return

    def _lose_head(self, reason: str) -> None:
        with self._lock:
            self.head_lost = reason
            self.nodes.clear()
            lost = [out for _, out in self._running.values()]
            self._running.clear()
        for out in lost:
            out.set_exception(InfrastructureError(reason + LOST_MARK))

    def _count(self, node_id: str, delta: int) -> None:
        report = self.nodes.get(node_id)
        if report is not None:
            self.nodes[node_id] = dataclasses.replace(report, busy=max(report.busy + delta, 0),
                                                      done=report.done + (delta < 0))

    def utilization(self) -> float:
        """The share of worker time spent in jobs since the run bound this executor (0..1)."""
        with self._lock:
            now = time.monotonic()
            busy = self._busy_s + sum(now - t for t, _ in self._running.values())
            return min(busy / max(self.workers * (now - self._since), 1e-9), 1.0)

    def describe(self) -> str:
        """Workers per node and utilization, for the live view; a node that gets no jobs says why."""
        with self._lock:
            reports = sorted(self.nodes.values(), key=lambda r: (r.address, r.node_id))
        nodes = "; ".join(f"{r.address}[{r.node_id[:6]}] {r.busy} busy, {r.done} done" if r.ok
                          else f"{r.address}[{r.node_id[:6]}] no jobs: {r.detail}" for r in reports)
        if self.head_lost:
            return self.head_lost
        return f"{nodes} · {100 * self.utilization():.0f}% utilized"

    def shutdown(self, wait: bool = True) -> None:
        if self._run is not None:  # where the run's jobs ran, for whoever reads its events
            with contextlib.suppress(Exception):
                self._run.log_event("ray_jobs", {r.node_id: {"address": r.address, "jobs": r.done}
                                                 for r in self.nodes.values()})
            self._run = None
        self._closing.set()
        self._finish.shutdown(wait=wait and self.head_lost is None, cancel_futures=not wait)
        if self._ray.is_initialized() and self.head_lost is None:  # without a head it can hang
            self._ray.shutdown()
