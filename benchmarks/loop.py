"""Loop benchmarks: orchestration overhead per evaluation, and worker utilization.

1. Overhead. The real loop (archive, gateway, local sandbox, HGM policy) runs a trivial agent
   (one call to a scripted instant model, then exit) on trivial tasks with one worker. The
   time spent inside ``Sandbox.run`` is measured separately; what is left per evaluation is
   the orchestration's own cost: policy, dispatch, checkout, hidden-test injection, recording.
2. Utilization. Jobs with heterogeneous durations (lognormal) on 4 workers, scheduled by the
   asynchronous loop and by a generation-synchronous scheduler (start one job per worker,
   wait for all, repeat), in the same process on the same archive format. Utilization is the
   time workers spent in jobs over workers x wall time.

JSON keys (``--json``): ``overhead.evaluations``, ``overhead.sandbox`` (its name),
``overhead.wall_s``, ``overhead.per_eval_ms``, ``overhead.sandbox_per_eval_ms`` (inside
the sandbox), ``overhead.overhead_per_eval_ms`` (the rest), ``utilization.workers``, and for
each scheduler ``utilization.async.jobs``, ``utilization.async.wall_s``,
``utilization.async.utilization``, ``utilization.generational.jobs``,
``utilization.generational.wall_s``, ``utilization.generational.utilization``.

    python benchmarks/loop.py [--evals 40] [--jobs 400] [--json]

3. The Ray executor (``--executor ray``, after 1 and 2): the same trivial evaluations, through
   the local executor and through Ray (a two-node ``ray.cluster_utils.Cluster`` with 2 CPUs a
   node started here, or ``--address`` of a running cluster), with 1 worker (overhead per
   evaluation: Ray's minus local's, and their ratio) and with 4 workers across the nodes
   (utilization: the time jobs were in flight over workers x wall time). The output adds
   ``ray.local.per_eval_ms``, ``ray.ray.per_eval_ms``, ``ray.overhead_ms`` (Ray's extra per
   evaluation), ``ray.overhead_ratio`` (Ray's time per evaluation over local's), and
   ``ray.utilization_local`` and ``ray.utilization_ray`` (4 workers), with ``ray.evaluations``.

    python benchmarks/loop.py --executor ray [--address HOST:PORT] [--evals 40] --json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ALL_COMPLETED, wait
from pathlib import Path

import numpy as np

from hgm.archive import Run
from hgm.executor.local import LocalExecutor
from hgm.gateway import Gateway, get_backend
from hgm.jobs import Charge, CostLedger, Started, Worker, WorkerSettings
from hgm.jobs.evaluation import EvalResult
from hgm.jobs.expansion import ExpansionResult
from hgm.loop import Limits, Search, run_search
from hgm.sandbox import get_sandbox
from hgm.search import get_policy
from hgm.types import Outcome, Task

TRIVIAL_AGENT = '''
import argparse, json, os, urllib.request
p = argparse.ArgumentParser()
for a in ("--workspace", "--task-file", "--trajectory", "--max-steps", "--model"):
    p.add_argument(a)
args = p.parse_args()
req = urllib.request.Request(os.environ["HGM_GATEWAY_URL"] + "/chat/completions",
    data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["HGM_TOKEN"], "Content-Type": "application/json"})
reply = json.load(urllib.request.urlopen(req))
json.dump({"steps": 1, "reply": reply["choices"][0]["message"]}, open(args.trajectory, "w"))
'''


def _trivial_world(root: Path, n_tasks: int) -> tuple[Path, list[Task]]:
    agent = root / "agent"
    (agent / "tests").mkdir(parents=True)
    (agent / "run_agent.py").write_text(textwrap.dedent(TRIVIAL_AGENT))
    (agent / "tests" / "test_ok.py").write_text("import unittest\nclass T(unittest.TestCase):\n    def test(self): pass\n")
    tasks = []
    for i in range(n_tasks):
        d = root / "tasks" / f"t{i}"
        (d / "workspace").mkdir(parents=True)
        (d / "tests").mkdir()
        (d / "workspace" / "a.py").write_text("x = 1\n")
        (d / "tests" / "test_a.py").write_text("def test(): pass\n")
        tasks.append(Task(f"t{i}", "do nothing", d / "workspace", d / "tests", "true", 60.0))
    return agent, tasks


class TimedSandbox:
    """Wraps a sandbox and adds up the wall time spent inside ``run``."""

    def __init__(self, inner):
        self.inner, self.name, self.seconds, self._lock = inner, inner.name, 0.0, threading.Lock()

    def run(self, spec, out_dir):
        start = time.perf_counter()
        try:
            return self.inner.run(spec, out_dir)
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - start

    def close(self):
        self.inner.close()


def measure_overhead(n_evals: int, sandbox_spec: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="hgm-bench-") as tmp:
        root = Path(tmp)
        agent, tasks = _trivial_world(root, n_evals)
        run = Run.create(root / "run", agent, config={}, task_ids=[t.id for t in tasks])
        sandbox = TimedSandbox(get_sandbox(sandbox_spec))
        ledger = CostLedger(run)
        gateway = Gateway(get_backend("scripted:echo"), socket_path=root / "gw.sock", recorder=ledger.record)
        with gateway:
            worker = Worker(run, sandbox, gateway, ledger, tasks, WorkerSettings(model="scripted:echo"))
            # evals_per_node = every task: the root is evaluated on all of them, no expansion.
            policy = get_policy(f"greedy?evals_per_node={n_evals}")
            executor = LocalExecutor(1)
            start = time.perf_counter()
            run_search(run, policy, executor, worker, Limits(max_evals=n_evals))
            wall = time.perf_counter() - start
            executor.shutdown()
        done = len(run.evaluations())
        run.close()
    return {
        "evaluations": done,
        "sandbox": sandbox.name,
        "wall_s": wall,
        "per_eval_ms": 1000 * wall / done,
        "sandbox_per_eval_ms": 1000 * sandbox.seconds / done,
        "overhead_per_eval_ms": 1000 * (wall - sandbox.seconds) / done,
    }


class NoGateway:
    """What the loop reads of a gateway, for jobs that make no LLM calls."""

    spent_usd, max_usd, budget_exhausted = 0.0, None, False


class SleepWorker:
    """Jobs that only take time: durations drawn per job from a seeded lognormal."""

    sandbox = None  # no sandbox that could become unavailable

    def __init__(self, run: Run, seed: int, tree: Path):
        self.run, self.tree = run, tree
        self.rng = np.random.default_rng(seed)
        self.busy_s = 0.0
        self._lock = threading.Lock()
        self.gateway = NoGateway()

    def begin(self, kind, node, task, now):
        return Started(kind, node, task, "", f"{kind}-{node}-{task}-{now}", now)

    def end(self, token, ref):
        return Charge()

    def _sleep(self) -> float:
        with self._lock:
            d = float(min(self.rng.lognormal(np.log(0.15), 1.0), 2.0))
        time.sleep(d)
        with self._lock:
            self.busy_s += d
        return d

    def evaluation_job(self, node, task, token):
        def job():
            d = self._sleep()
            return EvalResult(Outcome.PASS if (node + task) % 3 else Outcome.FAIL, d, b"{}", "log")
        return job

    def expansion_job(self, parent, failure, token, ref):
        def job():
            self._sleep()
            dest = Path(tempfile.mkdtemp(prefix="hgm-bench-child-"))
            shutil.copytree(self.tree, dest, dirs_exist_ok=True)
            (dest / "note.txt").write_text(ref)
            sha = self.run.prepare_commit(parent, dest, "change")  # as real expansion jobs do
            shutil.rmtree(dest)
            return ExpansionResult("change", None, True, None, commit=sha)
        return job

    def pick_failure(self, node, rng):
        return None


def _generational(run, policy, executor, worker, n_jobs: int) -> None:
    """Start one job per worker, wait for all of them, record, repeat."""
    search = Search(run, policy, executor, worker, Limits())
    started = 0
    while started < n_jobs:
        search.dispatch()
        started += len(search.in_flight)
        wait(list(search.in_flight), return_when=ALL_COMPLETED)
        while search.in_flight:
            future, pending = search.in_flight.popitem()
            search.record(pending, future)


def measure_utilization(n_jobs: int, workers: int = 4) -> dict:
    out = {}
    for name in ("async", "generational"):
        with tempfile.TemporaryDirectory(prefix="hgm-bench-") as tmp:
            root = Path(tmp)
            (root / "seed").mkdir()
            (root / "seed" / "agent.py").write_text("pass\n")
            run = Run.create(root / "run", root / "seed", config={}, task_ids=[f"t{i}" for i in range(50)], durable=False)
            worker = SleepWorker(run, seed=7, tree=root / "seed")
            executor = LocalExecutor(workers)
            policy = get_policy("hgm")
            start = time.perf_counter()
            if name == "async":
                run_search(run, policy, executor, worker, Limits(max_evals=n_jobs))
            else:
                _generational(run, policy, executor, worker, n_jobs)
            wall = time.perf_counter() - start
            executor.shutdown()
            out[name] = {"jobs": len(run.evaluations()) + len(run.nodes()) - 1, "wall_s": wall,
                         "utilization": worker.busy_s / (workers * wall)}
            run.close()
    return {"workers": workers, **out}


class Metered:
    """An executor whose jobs' time in flight (submit to result) is added up."""

    def __init__(self, inner):
        self.inner, self.name, self.workers = inner, inner.name, inner.workers
        self.in_flight_s, self._lock = 0.0, threading.Lock()

    def submit(self, job):
        start = time.perf_counter()
        future = self.inner.submit(job)
        future.add_done_callback(lambda f: self._add(time.perf_counter() - start))
        return future

    def _add(self, seconds: float) -> None:
        with self._lock:
            self.in_flight_s += seconds

    def shutdown(self, wait: bool = True) -> None:
        self.inner.shutdown(wait)


def _trivial_run(n_evals: int, sandbox_spec: str, workers: int, address: str | None) -> dict:
    """Trivial evaluations on ``workers`` workers, through Ray at ``address`` or locally."""
    from hgm.executor import get_executor

    with tempfile.TemporaryDirectory(prefix="hgm-bench-") as tmp:
        root = Path(tmp)
        agent, tasks = _trivial_world(root, n_evals)
        run = Run.create(root / "run", agent, config={}, task_ids=[t.id for t in tasks])
        executor = get_executor(f"ray?address={address}" if address else "local", workers)
        ledger = CostLedger(run)
        gateway = Gateway(get_backend("scripted:echo"), socket_path=root / "gw.sock", recorder=ledger.record,
                          **getattr(executor, "gateway_listen", {}))
        sandbox = get_sandbox(sandbox_spec)
        with gateway:
            worker = Worker(run, sandbox, gateway, ledger, tasks, WorkerSettings(model="scripted:echo"))
            if address:
                worker = executor.bind(worker, sandbox_spec, gateway.tcp_port)
            metered = Metered(executor)
            start = time.perf_counter()
            run_search(run, get_policy(f"greedy?evals_per_node={n_evals}"), metered, worker,
                       Limits(max_evals=n_evals))
            wall = time.perf_counter() - start
            executor.shutdown()
        sandbox.close()
        done = len(run.evaluations())
        run.close()
    return {"evaluations": done, "wall_s": wall, "per_eval_ms": 1000 * wall / done,
            "utilization": metered.in_flight_s / (workers * wall)}


def measure_ray(n_evals: int, sandbox_spec: str, address: str | None) -> dict:
    cluster = None
    if address is None:
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 2, "object_store_memory": 80 << 20, "include_dashboard": False})
        cluster.add_node(num_cpus=2, object_store_memory=80 << 20)
        cluster.wait_for_nodes()
        address = cluster.address
    try:
        local1 = _trivial_run(n_evals, sandbox_spec, 1, None)
        ray1 = _trivial_run(n_evals, sandbox_spec, 1, address)
        local4 = _trivial_run(n_evals, sandbox_spec, 4, None)
        ray4 = _trivial_run(n_evals, sandbox_spec, 4, address)
    finally:
        if cluster is not None:
            cluster.shutdown()
    return {"evaluations": n_evals, "local": local1, "ray": ray1,
            "overhead_ms": ray1["per_eval_ms"] - local1["per_eval_ms"],
            "overhead_ratio": ray1["per_eval_ms"] / local1["per_eval_ms"],
            "utilization_local": local4["utilization"], "utilization_ray": ray4["utilization"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=40, help="evaluations for the overhead measurement")
    ap.add_argument("--jobs", type=int, default=400, help="evaluations for the utilization measurement")
    ap.add_argument("--sandbox", default="local", help="sandbox spec for the overhead measurement")
    ap.add_argument("--executor", choices=("local", "ray"), default="local",
                    help="ray: also compare the Ray executor with the local one (3. above)")
    ap.add_argument("--address", help="a running Ray cluster (default: start a two-node one here)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    result = {"overhead": measure_overhead(args.evals, args.sandbox), "utilization": measure_utilization(args.jobs)}
    if args.executor == "ray":
        result["ray"] = measure_ray(args.evals, args.sandbox, args.address)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    o, u = result["overhead"], result["utilization"]
    print(f"overhead ({o['sandbox']}, {o['evaluations']} evaluations, 1 worker):")
    print(f"  {o['per_eval_ms']:.1f} ms per evaluation, of which {o['sandbox_per_eval_ms']:.1f} ms in the sandbox")
    print(f"  orchestration overhead: {o['overhead_per_eval_ms']:.1f} ms per evaluation")
    print(f"utilization ({u['workers']} workers, lognormal job durations):")
    for name in ("async", "generational"):
        print(f"  {name:>12}: {100 * u[name]['utilization']:.1f}% busy, {u[name]['jobs']} jobs in {u[name]['wall_s']:.1f} s")
    if "ray" in result:
        r = result["ray"]
        print(f"ray executor ({r['evaluations']} evaluations; 2 nodes):")
        print(f"  1 worker: {r['ray']['per_eval_ms']:.1f} ms per evaluation, local {r['local']['per_eval_ms']:.1f} ms: "
              f"{r['overhead_ms']:+.1f} ms ({r['overhead_ratio']:.2f}x)")
        print(f"  4 workers: {100 * r['utilization_ray']:.1f}% utilized, local {100 * r['utilization_local']:.1f}%")


if __name__ == "__main__":
    sys.exit(main())
