"""Writing a simulated run in the archive format, and picking one up after a crash.

Every node is a real commit of a tiny placeholder tree (a file with its latent values),
with author and committer dates pinned to ``BASE_TIME + step``, so commit shas depend on
nothing but the run's seed, policy and parameters. Node meta holds ``{"s", "p", "q", "xi",
"step"}`` (``None`` values on invalid nodes); the seed node's meta is empty, its values
being drawn from the world like every node's. On resume every node is drawn again from the world at its
place in the tree and must match its recorded meta. The run's config.yaml holds the simulator
settings under ``simulator``; a run is resumed only when they match.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import yaml

from hgm.archive.run import Run, missing_parts
from hgm.scratch import prefix as scratch_prefix
from hgm.sim.landscape import Latent, SimParams, World
from hgm.sim.runner import FINAL_MIN_EVALS, RunState
from hgm.types import NodeKind, NodeStatus, Outcome

BASE_TIME = 1_700_000_000
"""Commit date (Unix seconds) of the seed node; the node made at step k is dated BASE_TIME + k."""
TREE_FILE = "agent.json"
"""The one file of a placeholder agent tree."""
TASK_PREFIX = "sim-task-"


class ArchiveRecorder:
    """Records a simulated run's nodes and evaluations in a :class:`~hgm.archive.run.Run`."""

    def __init__(self, run: Run, world: World, scratch: Path):
        self.run = run
        self.world = world
        self._scratch = scratch

    @classmethod
    def open_or_create(cls, out: Path, policy: str, world: World) -> ArchiveRecorder:
        """Resume the run at ``out`` if it is this simulation's, else create it there.

        Raises ``ValueError`` when ``out`` holds a run of another simulation (or a real run).
        A run whose creation was killed before its seed node was recorded holds nothing and
        is made again.
        """
        config = _config(policy, world.seed, world.params)
        scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix("sim")))
        try:
            run = _open_matching(out, config) or _create(out, config, world.seed, scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return cls(run, world, scratch)

    def __enter__(self) -> ArchiveRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.run.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def state(self, uncharged_root: bool = False) -> RunState:
        """The state to continue from: replayed statistics, the nodes' draws, step, spend.

        Each node is drawn again from the world at its place in the tree and checked
        against the latent values recorded in its meta. ``uncharged_root``: the policy's
        evaluations of the seed agent cost nothing (see ``simulate_run``).
        """
        stats = self.run.tree_stats()
        nodes = self.run.nodes()
        draws = [self.world.root()]
        ordinal: dict[int, int] = {}
        for n in nodes[1:]:
            k = ordinal[n.parent] = ordinal.get(n.parent, -1) + 1
            draws.append(self.world.child(draws[n.parent], k))
            if n.meta != _meta(draws[-1].latent, n.meta.get("step")):
                raise ValueError(f"{self.run.path}: node {n.id} does not match this simulation")
        expansions = stats.n_nodes - 1
        snap = stats.snapshot()
        charged = stats.evals_done - (int(snap.own_pass[0] + snap.own_fail[0]) if uncharged_root else 0)
        # Every step made exactly one record (a node or an evaluation); a Stop made none.
        return RunState(
            stats=stats,
            nodes=draws,
            step=expansions + stats.evals_done,
            spent=expansions * self.world.params.expand_cost + charged,
        )

    def node(self, step: int, parent: int, child: Latent) -> None:
        meta = _meta(child, step)
        _write_tree(self._scratch, {**meta, "parent": parent})
        # The true values go in the message too, so `hgm tree` and `git log` show them.
        truth = f"true p {child.p:.2f}, q {child.q:+.2f}" if child.valid else "invalid"
        proposal = f"simulated edit (step {step}): {truth}"
        self.run.add_node(
            parent,
            self._scratch,
            kind=NodeKind.EDIT,
            proposal=proposal,
            status=NodeStatus.VALID if child.valid else NodeStatus.INVALID,
            reason=None if child.valid else "simulated self-check failure",
            meta=meta,
            expansion={"problem_statement": proposal},
            commit_time=BASE_TIME + step,
        )

    def evaluation(self, step: int, node: int, task: int, passed: bool) -> None:
        self.run.record_evaluation(node, task, Outcome.PASS if passed else Outcome.FAIL)


def _config(policy: str, seed: int, params: SimParams) -> dict:
    sim = {"policy": policy, "seed": int(seed), "params": params.to_dict()}
    # Round-trip through YAML so the comparison on resume sees what a reader would.
    sim = yaml.safe_load(yaml.safe_dump(sim))
    return {"simulator": sim, "final_min_evals": FINAL_MIN_EVALS}


def _open_matching(out: Path, config: dict) -> Run | None:
    out = Path(out)
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    if missing_parts(out):
        _discard_if_ours(out, config)
        return None
    run = Run.open(out, durable=False)
    if run.config.get("simulator") != config["simulator"]:
        run.close()
        raise ValueError(
            f"{out} holds a different run ({run.config.get('simulator')}); "
            "choose another folder to simulate into"
        )
    if not run.nodes():  # creation killed between the schema and the seed row
        run.close()
        _discard_if_ours(out, config)
        return None
    return run


def _discard_if_ours(out: Path, config: dict) -> None:
    """Remove a half-created run of this simulation (it has recorded nothing)."""
    cfg = out / "config.yaml"
    found = yaml.safe_load(cfg.read_text(encoding="utf-8")) if cfg.exists() else None
    if not isinstance(found, dict) or found.get("simulator") != config["simulator"]:
        raise ValueError(f"{out} exists and is not a run of this simulation")
    shutil.rmtree(out)


def _create(out: Path, config: dict, seed: int, scratch: Path) -> Run:
    _write_tree(scratch, {"seed_agent": True, "simulation_seed": seed})
    task_ids = [f"{TASK_PREFIX}{i}" for i in range(config["simulator"]["params"]["n_tasks"])]
    return Run.create(
        out, scratch, config=config, task_ids=task_ids, commit_time=BASE_TIME, durable=False
    )


def _write_tree(scratch: Path, content: dict) -> None:
    (scratch / TREE_FILE).write_text(json.dumps(content, sort_keys=True) + "\n", encoding="utf-8")


def _meta(lat: Latent, step: int | None) -> dict:
    if not lat.valid:
        return {"s": None, "p": None, "q": None, "xi": None, "step": step}
    return {"s": lat.s, "p": lat.p, "q": lat.q, "xi": lat.xi, "step": step}
