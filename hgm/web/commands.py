"""The web page's commands, ``hgm serve`` and ``hgm export-html``; :func:`register` adds them
to the CLI. Thin: each calls the library (hgm.web.server, hgm.web.export)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``export-html`` to ``app``."""
    app.command()(serve)
    app.command("export-html")(export_html)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def serve(
    path: Annotated[Path, typer.Argument(help="A run folder, or a folder of runs (e.g. archive/).", show_default=False)],
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on; anything but localhost is reachable from other machines.")] = "127.0.0.1",
) -> None:
    """Browse runs in a web page: the tree, each node's change, results, trajectories and cost, plots, runs compared.

    Read-only (the runs' databases are opened read-only; nothing is written); a run in progress updates live. Stop with Ctrl-C.
    """
    from hgm.web.server import ServeError, check_root, is_local
    from hgm.web.server import serve as run_server

    try:
        runs = check_root(path)
    except ServeError as e:
        raise _fail(str(e)) from None
    if not is_local(host):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can read these runs "
                   "(proposals, trajectories, diffs); there is no authentication", err=True)
    shown = "[" + host + "]" if ":" in host else host
    typer.echo(f"serving {len(runs)} run{'s' if len(runs) != 1 else ''} under {path} at http://{shown}:{port}/ (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        run_server(path, host=host, port=port)


def export_html(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. archive/<run>.", show_default=False)],
    out: Annotated[Path, typer.Argument(help="Folder to write (absent or empty).", show_default=False)],
) -> None:
    """Write a run's web page as a static folder that opens from disk (OUT/index.html), no server needed."""
    from hgm.archive import ArchiveError
    from hgm.web.export import export_html as write

    try:
        done = write(run_dir, out)
    except (ArchiveError, FileExistsError) as e:
        raise _fail(str(e)) from None
    typer.echo(f"wrote {done.out / 'index.html'} ({done.nodes} nodes, {done.bytes / 1e6:.1f} MB); open it in a browser")
