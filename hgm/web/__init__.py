"""Browse runs in a web page: ``hgm serve`` (a read-only server) and ``hgm export-html``
(the same page as a static folder that opens from disk).

``create_app(path)`` builds the ASGI app for the runs at or under ``path``
(:mod:`hgm.web.app`); the page itself is hgm/web/static (vanilla JavaScript and CSS,
nothing fetched at page load). Importing this package loads no web framework. See
docs/web.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from hgm.web.catalog import Catalog


def create_app(runs: Path | Catalog, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The read-only ASGI app serving the runs at or under ``runs`` (see :mod:`hgm.web.app`)."""
    from hgm.web.app import create_app as make

    return make(runs, allowed_hosts=allowed_hosts)


__all__ = ["create_app"]
