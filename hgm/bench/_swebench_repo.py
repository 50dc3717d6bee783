"""Git work for the ``swebench`` benchmark: source repositories, checkouts, patches.

A source repository is a local git repository (an instance's ``repo_path``, or
``REPOS/<owner>__<name>``), else a bare clone of ``https://github.com/<owner>/<name>`` kept in
the cache and made once per repository (network needed). A checkout at a commit is a shared
clone of the source (no objects copied) whose ``.git`` is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hgm.bench.dirbench import BenchmarkError
from hgm.scratch import prefix as scratch_prefix

GITHUB_URL = "https://github.com/{repo}.git"
_GIT_ENV = {
    # no prompt for credentials (a private or missing repository fails at once), no
    # user or system configuration (hooks, templates, autocrlf) changing what is checked out
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "hgm",
    "GIT_AUTHOR_EMAIL": "hgm@localhost",
    "GIT_COMMITTER_NAME": "hgm",
    "GIT_COMMITTER_EMAIL": "hgm@localhost",
}


class GitError(Exception):
    """A git command failed; the message holds its output."""


def git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    """Run git; return its stdout, or raise :class:`GitError` with its stderr."""
    env = {**os.environ, **_GIT_ENV}
    if cwd is not None:
        # a folder that is not a repository must not be taken for a part of an enclosing one
        env["GIT_CEILING_DIRECTORIES"] = str(Path(cwd).resolve().parent)
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True)
    except FileNotFoundError:
        if cwd is not None and not Path(cwd).is_dir():
            raise GitError(f"{cwd}: no such folder") from None
        raise BenchmarkError("the swebench benchmark needs git on PATH") from None
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def has_commit(repo: Path, commit: str) -> bool:
    try:
        git("cat-file", "-e", f"{commit}^{{commit}}", cwd=repo)
    except GitError:
        return False
    return True


def github_clone(repo: str, cache: Path) -> Path:
    """The cached bare clone of ``github.com/<repo>``, made on first use."""
    dest = cache / f"{repo.replace('/', '__')}.git"
    if dest.is_dir():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=cache))
    try:
        git("clone", "--quiet", "--bare", GITHUB_URL.format(repo=repo), str(tmp / "repo.git"))
        (tmp / "repo.git").rename(dest)  # a reader never sees half a clone
    except OSError:
        if not dest.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def ensure_commit(repo: Path, commit: str, fetchable: bool) -> bool:
    """Whether ``repo`` has ``commit``; a clone of GitHub fetches once if it lacks it."""
    if has_commit(repo, commit):
        return True
    if fetchable:
        try:
            git("fetch", "--quiet", "origin", "+refs/heads/*:refs/heads/*", cwd=repo)
        except GitError:
            return False
    return has_commit(repo, commit)


def shared_checkout(source: Path, commit: str, dest: Path) -> None:
    """Check ``commit`` of ``source`` out into ``dest`` (a git repository, sharing objects)."""
    git("clone", "--quiet", "--shared", "--no-checkout", str(source), str(dest))
    git("-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit, cwd=dest)


def patch_paths(repo: Path, patch: bytes) -> list[str]:
    """Every path a patch touches (both sides of a rename), in patch order."""
    out = git("apply", "--numstat", "-z", "-", cwd=repo, stdin=patch)
    fields = out.split(b"\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        record = fields[i]
        if not record:
            i += 1
            continue
        counts_and_path = record.split(b"\t", 2)
        if len(counts_and_path) == 3 and counts_and_path[2]:
            paths.append(counts_and_path[2].decode())
            i += 1
        else:  # a rename: "added\tdeleted\t" then the old and the new path
            paths += [fields[i + 1].decode(), fields[i + 2].decode()]
            i += 3
    return list(dict.fromkeys(paths))


def apply_patch(repo: Path, patch: bytes, check_only: bool = False) -> None:
    git(
        "apply",
        *(["--check"] if check_only else []),
        "--whitespace=nowarn",
        "-",
        cwd=repo,
        stdin=patch,
    )


def reset(repo: Path) -> None:
    """Back to the checked-out commit, dropping every change and new file."""
    git("checkout", "--quiet", "--", ".", cwd=repo)
    git("clean", "--quiet", "-fdx", cwd=repo)


def workspace_patch(base: Path, changed: Path, exclude: tuple[str, ...] = ()) -> str:
    """The unified diff (git format, binary-safe) that turns folder ``base`` into ``changed``.

    Folders named in ``exclude`` (and ``.git``) are left out on both sides; so are byte-code
    caches. The result applies with ``git apply`` at the repository root, as a SWE-bench
    prediction's ``model_patch`` must.
    """
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "*.pyo", *exclude)
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("diff")) as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(base, repo, ignore=ignore, symlinks=True)
        git("init", "--quiet", cwd=repo)
        git("add", "--all", "--force", cwd=repo)
        git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", "base", cwd=repo)
        for entry in repo.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        shutil.copytree(changed, repo, ignore=ignore, symlinks=True, dirs_exist_ok=True)
        git("add", "--all", "--force", cwd=repo)
        return git("diff", "--cached", "--binary", "HEAD", cwd=repo).decode("utf-8", "replace")
