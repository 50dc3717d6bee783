"""``hgm doctor --executor ray``: every node of the cluster, and whether it can take jobs.

For each alive node: its sandbox runs a command (the check a run makes before giving the node
jobs), and its Ray workers' environment holds no variable that looks like a key (a node
started from a shell with ``OPENAI_API_KEY`` set would hand it to every job there: the
gateway's token is all a node needs).
"""

from __future__ import annotations

import re

from hgm.doctor import Check

KEY_LIKE = re.compile(r"(API_?KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.IGNORECASE)


def cluster_checks(spec: str, sandbox: str = "auto") -> list[Check]:
    """One check for the connection, then two per alive node (sandbox, environment)."""
    from hgm.executor import get_executor
    from hgm.executor.ray import worker_environment_names

    try:
        executor = get_executor(spec, workers=1)
    except (ImportError, ValueError, ConnectionError) as e:
        return [Check("ray cluster", False, str(e), "start one: `ray start --head` (docs/ray.md)")]
    try:
        nodes = executor.alive()
        checks = [Check("ray cluster", True, f"{len(nodes)} alive node(s)", "")]
        reports = executor.check_nodes(sandbox, nodes)
        environments = executor.on_each([node_id for node_id, _ in nodes], worker_environment_names)
    finally:
        executor.shutdown()
    for report, (finished, names) in zip(reports, environments, strict=True):
        name = f"node {report.address} [{report.node_id[:6]}]"
        checks.append(Check(f"{name} sandbox", report.ok, f"{sandbox}: {report.detail}",
                            "" if report.ok else "`hgm doctor` on that machine says what to install; "
                            "until then it gets no jobs"))
        keys = [name for name in names if KEY_LIKE.search(name)] if finished else []
        checks.append(Check(f"{name} environment", finished and not keys,
                            "no key-like variables" if finished and not keys
                            else (f"holds {', '.join(keys)}" if finished else str(names)),
                            "" if finished and not keys
                            else "restart `ray start` on that machine without those variables"))
    return checks
