"""``hgm export-html``: the web page of one run as a static folder that opens from disk.

The folder holds the page's static files and ``static/data.js``, which sets
``window.HGM_DATA`` to every answer the page would ask the server for (keyed as the page's
``apiKey`` names them): the run's summary, tree, plots and skills, and for every node its
panel, its diffs against parent and root, and each evaluation's trajectory and test log.
Diffs against any other node need ``hgm serve``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from hgm.archive import Run
from hgm.views import ViewError, node_diff
from hgm.web import data, series
from hgm.web import skills as skill_views
from hgm.web.app import STATIC


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the folder, its total size in bytes, and the nodes it holds."""

    out: Path
    bytes: int
    nodes: int


def api_key(endpoint: str, **params: object) -> str:
    """The key the page's ``apiKey(endpoint, params)`` makes: params sorted, lists joined."""
    parts = []
    for k in sorted(params):
        v = params[k]
        parts.append(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}")
    return f"{endpoint}?{'&'.join(parts)}"


def collect(run: Run, run_id: str) -> dict:
    """Every API answer the page needs for ``run``, keyed by :func:`api_key`."""
    answers: dict[str, object] = {}
    summary = data.run_summary(run_id, run)
    answers[api_key("runs")] = {"root": run_id, "runs": [summary]}
    answers[api_key("summary", run=run_id)] = summary
    answers[api_key("version", run=run_id)] = summary["version"]
    answers[api_key("tree", run=run_id)] = data.tree(run)
    plots = series.plots(run)
    answers[api_key("plots", run=run_id)] = plots
    listed = skill_views.skills(run)
    answers[api_key("skills", run=run_id)] = listed
    for sk in listed["skills"]:
        with contextlib.suppress(ViewError):  # files that cannot be read: the page says so
            answers[api_key("skill", id=sk["id"], run=run_id)] = skill_views.skill(run, sk["id"])
    matrix = series.task_matrix({run_id: run}, {run_id: (summary["best"] or {}).get("node")})
    answers[api_key("compare", run=[run_id])] = {"runs": [summary], "plots": {run_id: plots}, "matrix": matrix}
    snap = data.counts(run)
    for n in run.nodes():
        answers[api_key("node", node=n.id, run=run_id)] = data.node(run, n.id, snap)
        for against in ("parent", "root"):
            answers[api_key("diff", against=against, node=n.id, run=run_id)] = node_diff(run, n.id, against)
    for e in run.evaluations():
        answers[api_key("evaluation", id=e.id, run=run_id)] = data.evaluation(run, e.id)
    return answers


def export_html(run_dir: Path, out: Path) -> Exported:
    """Write the page of the run at ``run_dir`` into ``out`` (absent or empty)."""
    run_dir, out = Path(run_dir), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    run_id = run_dir.resolve().name or "run"
    with Run.open(run_dir, readonly=True) as run:
        answers = collect(run, run_id)
        nodes = len(run.nodes())
    shutil.copytree(STATIC, out / "static", dirs_exist_ok=True, ignore=shutil.ignore_patterns("data.js"))
    shutil.move(str(out / "static" / "index.html"), out / "index.html")
    payload = json.dumps({"api": answers, "start": "#/tree?" + urlencode({"run": run_id})}, separators=(",", ":"),
                         allow_nan=False, default=str)
    (out / "static" / "data.js").write_text(
        "// The data of one hgm run, written by `hgm export-html`.\nwindow.HGM_DATA = " + payload + ";\n",
        encoding="utf-8",
    )
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return Exported(out, size, nodes)
