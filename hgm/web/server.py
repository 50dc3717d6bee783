"""Running the web page: ``hgm serve`` binds uvicorn to a host and port."""

from __future__ import annotations

from pathlib import Path

from hgm.web.app import LOCAL_HOSTS, create_app
from hgm.web.catalog import Catalog, find_runs


class ServeError(Exception):
    """The page cannot be served (no run under the folder, ...); one line for the user."""


def is_local(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    return host in LOCAL_HOSTS or host.startswith("127.")


def check_root(path: Path) -> list[str]:
    """The ids of the runs at or under ``path``; :class:`ServeError` when there are none."""
    path = Path(path)
    if not path.is_dir():
        raise ServeError(f"{path} is not a folder")
    runs = [e.id for e in find_runs(path)]
    if not runs:
        raise ServeError(f"no hgm run at or under {path} (a run folder holds config.yaml, agents.git and hgm.db)")
    return runs


def serve(path: Path, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the runs under ``path`` until interrupted (blocks)."""
    import uvicorn

    catalog = Catalog(Path(path))
    # Bound to this machine, only its own names are accepted (no DNS rebinding); bound to
    # another interface, any Host may reach it, which the CLI warns about.
    allowed = ["localhost", "127.0.0.1", "[::1]", "::1"] if is_local(host) else None
    app = create_app(catalog, allowed_hosts=allowed)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        catalog.close()
