"""The web page's server: a read-only JSON API over a :class:`~hgm.web.catalog.Catalog` and
one static page.

Read-only by construction: every route is GET, runs are opened with SQLite's read-only mode,
runs are named by catalogue id and artifacts by evaluation id (no path from a URL reaches the
file system), and unknown ids answer 404. Responses carry a Content-Security-Policy that
allows only this origin's own scripts, so even text that slipped into the page as HTML
could not run (the page renders run text with ``textContent`` in the first place).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hgm.archive import ArchiveError
from hgm.views import ViewError, node_diff
from hgm.web import data, series
from hgm.web import skills as skill_views
from hgm.web.catalog import Catalog, UnknownRun

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class NotFound(Exception):
    """Answered with 404 and this one-line message."""


class _Cache:
    """The last few answers of an expensive view, keyed by run, view and the run's version."""

    def __init__(self, size: int = 64):
        self._items: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple, make: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def _json(value: object, status: int = 200) -> Response:
    body = json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)
    return Response(body, status, media_type="application/json", headers=HEADERS)


def _int(request: Request, name: str) -> int:
    raw = request.query_params.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        raise NotFound(f"no {name} {raw!r}")
    return int(raw)


def create_app(runs: Path | Catalog, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The ASGI app serving the runs at or under ``runs`` (a folder, or a :class:`Catalog`).

    ``allowed_hosts`` (default: any) guards a server bound to localhost against DNS
    rebinding: a request with another Host header gets 400.
    """
    catalog = runs if isinstance(runs, Catalog) else Catalog(Path(runs))
    cache = _Cache()

    def run_of(request: Request):
        run_id = request.query_params.get("run", "")
        try:
            return run_id, catalog.run(run_id)
        except UnknownRun:
            raise NotFound(f"no run {run_id!r}") from None

    def cached(request: Request, view: str, make: Callable) -> Response:
        run_id, run = run_of(request)
        key = (run_id, view, data.version(run))
        return _json(cache.get(key, lambda: make(run)))

    def runs(request: Request) -> Response:
        rows = []
        for entry in catalog.entries():
            try:
                run = catalog.run(entry.id)
                key = (entry.id, "summary", data.version(run))
                summary = cache.get(key, lambda run=run, rid=entry.id: data.run_summary(rid, run))
                rows.append(summary | data.run_state(run))  # a killed driver changes no id
            except (UnknownRun, ArchiveError) as e:
                rows.append({"id": entry.id, "state": "unreadable", "reason": str(e)})
        return _json({"root": catalog.root.name, "runs": rows})

    def version(request: Request) -> Response:
        _run_id, run = run_of(request)
        return _json(asdict(data.version(run)))

    def summary(request: Request) -> Response:
        run_id, run = run_of(request)
        found = cache.get((run_id, "summary", data.version(run)), lambda: data.run_summary(run_id, run))
        return _json(found | data.run_state(run))  # a killed driver changes no id

    def tree(request: Request) -> Response:
        return cached(request, "tree", data.tree)

    def plots(request: Request) -> Response:
        return cached(request, "plots", series.plots)

    def node(request: Request) -> Response:
        _run_id, run = run_of(request)
        return _json(data.node(run, _int(request, "node")))

    def diff(request: Request) -> Response:
        _run_id, run = run_of(request)
        against = request.query_params.get("against", "parent")
        return _json(node_diff(run, _int(request, "node"), against))

    def evaluation(request: Request) -> Response:
        _run_id, run = run_of(request)
        return _json(data.evaluation(run, _int(request, "id")))

    def artifact(request: Request) -> Response:
        """An evaluation's raw trajectory or test log, as plain text (never rendered)."""
        _run_id, run = run_of(request)
        ref = data.artifact_ref(run, _int(request, "evaluation"), request.query_params.get("which", ""))
        body = run.artifact(ref)
        return Response(body, media_type="text/plain; charset=utf-8",
                        headers=HEADERS | {"Content-Disposition": "inline"})

    def compare(request: Request) -> Response:
        ids = request.query_params.getlist("run")
        if not ids:
            raise NotFound("name the runs to compare: ?run=A&run=B")
        return _json(compare_data(catalog, ids))

    def skills(request: Request) -> Response:
        return cached(request, "skills", skill_views.skills)

    def skill(request: Request) -> Response:
        _run_id, run = run_of(request)
        return _json(skill_views.skill(run, _int(request, "id")))

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    def not_found(request: Request, exc: Exception) -> Response:
        return _json({"error": str(exc)}, 404)

    routes = [
        Route("/", index), Route("/api/runs", runs), Route("/api/version", version),
        Route("/api/summary", summary), Route("/api/tree", tree), Route("/api/plots", plots),
        Route("/api/node", node), Route("/api/diff", diff), Route("/api/evaluation", evaluation),
        Route("/api/artifact", artifact), Route("/api/compare", compare), Route("/api/skills", skills),
        Route("/api/skill", skill),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    handlers = {NotFound: not_found, ViewError: not_found, ArchiveError: not_found, KeyError: not_found}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


def compare_data(catalog: Catalog, ids: list[str]) -> dict:
    """Several runs side by side: their summaries, plots and the per-task matrix of their
    best agents."""
    opened = {}
    for run_id in dict.fromkeys(ids):
        try:
            opened[run_id] = catalog.run(run_id)
        except UnknownRun:
            raise NotFound(f"no run {run_id!r}") from None
    summaries = {i: data.run_summary(i, run) for i, run in opened.items()}
    best = {i: (s["best"] or {}).get("node") for i, s in summaries.items()}
    return {
        "runs": [summaries[i] for i in opened],
        "plots": {i: series.plots(run) for i, run in opened.items()},
        "matrix": series.task_matrix(opened, best),
    }
