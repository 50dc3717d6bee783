"""The run's agents.git: every node is a commit at ``refs/nodes/<id>``.

Only git plumbing is used, with a throw-away index file per commit, so committing a tree
never touches a working copy or the repository's own index. Every command runs with the
user's global and system git config switched off and a fixed identity, so the same trees,
messages and dates give the same commit shas on any machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path

REF_PREFIX = "refs/nodes/"
IDENTITY = ("hgm", "hgm@localhost")
_INDEX_PREFIX = "hgm-index-"
_SHA = re.compile(r"^[0-9a-f]{40}$")


# Defined in this, the lowest module of the archive, because every other one raises it.
class ArchiveError(Exception):
    """A run on disk is missing, malformed, from a newer hgm, or an operation on it failed."""


def node_ref(node: int) -> str:
    return f"{REF_PREFIX}{node}"


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # Inherited GIT_* variables (GIT_DIR from a hook, GIT_INDEX_FILE, ...) would redirect
    # our commands to some other repository, so none are passed through.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=IDENTITY[0],
        GIT_AUTHOR_EMAIL=IDENTITY[1],
        GIT_COMMITTER_NAME=IDENTITY[0],
        GIT_COMMITTER_EMAIL=IDENTITY[1],
        LC_ALL="C",
    )
    if extra:
        env.update(extra)
    return env


def _run_git(
    cmd: list[str], input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, input=input, capture_output=True, env=_clean_env(env))
    except FileNotFoundError:
        raise ArchiveError("git is not installed (hgm stores agent versions with it)") from None


class AgentsRepo:
    """A bare repository holding one commit per node.

    ``durable`` makes git fsync objects and refs before returning, so that a commit
    recorded in hgm.db survives a power loss, not only a killed process.
    """

    def __init__(self, git_dir: Path, *, durable: bool = True):
        # Absolute once, here: git resolves a relative --git-dir and GIT_INDEX_FILE against
        # --work-tree, which is some other folder (the tree being committed or checked out).
        self.git_dir = Path(os.path.abspath(git_dir))
        self.durable = durable

    # -- plumbing -----------------------------------------------------------------------
    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run one git command against this repository and return the finished process."""
        opts = ["-c", "gc.auto=0", "-c", "commit.gpgSign=false"]
        if self.durable:
            # core.fsync is git >= 2.36; older versions ignore it and read fsyncObjectFiles.
            opts += ["-c", "core.fsync=committed,reference", "-c", "core.fsyncObjectFiles=true"]
        proc = _run_git(["git", *opts, f"--git-dir={self.git_dir}", *args], input, env)
        if check and proc.returncode != 0:
            command = next((a for a in args if not a.startswith("-")), "")
            err = proc.stderr.decode(errors="replace").strip()
            raise ArchiveError(f"git {command} failed in {self.git_dir}: {err}")
        return proc

    def _out(self, *args: str, **kw) -> str:
        return self.git(*args, **kw).stdout.decode().strip()

    @classmethod
    def init(cls, git_dir: Path, *, durable: bool = True) -> AgentsRepo:
        """Create an empty bare repository with automatic gc off (nodes must never vanish)."""
        repo = cls(git_dir, durable=durable)
        proc = _run_git(["git", "init", "--bare", "--quiet", str(repo.git_dir)])
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise ArchiveError(f"git init failed for {git_dir}: {err}")
        repo.git("config", "gc.auto", "0")
        repo.git("config", "core.logAllRefUpdates", "false")
        return repo

    # -- writing --------------------------------------------------------------------------
    def commit_tree(
        self,
        tree: Path,
        *,
        parent: str | None,
        message: str,
        commit_time: int | None = None,
    ) -> str:
        """Write ``tree`` (a directory) as a commit object and return its sha.

        No ref is changed: the caller records the sha first and then points the node's ref
        at it. Files ignored by a ``.gitignore`` inside the tree are left out, as git would.
        """
        tree = Path(tree)
        if not tree.is_dir():
            raise ArchiveError(f"cannot commit {tree}: not a directory")
        index = self.git_dir / f"{_INDEX_PREFIX}{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        if commit_time is not None:
            stamp = f"@{int(commit_time)} +0000"
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        try:
            self.git(f"--work-tree={tree.resolve()}", "add", "--all", env=env)
            tree_sha = self._out("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        args = ["commit-tree", tree_sha]
        if parent is not None:
            args += ["-p", parent]
        # The message goes through stdin so its length and characters are never an issue.
        return self._out(*args, input=message.encode(), env=env)

    def set_ref(self, node: int, sha: str) -> None:
        self.git("update-ref", node_ref(node), sha)

    def delete_ref(self, node_or_ref: int | str) -> None:
        ref = node_ref(node_or_ref) if isinstance(node_or_ref, int) else node_or_ref
        self.git("update-ref", "-d", ref)

    def remove_leftovers(self) -> list[Path]:
        """Delete temporary index files and stale ref locks left by a killed process.

        Only safe while no other process writes to this repository (the run's driver is
        its only writer). Returns the removed paths.
        """
        removed = [p for p in self.git_dir.glob(f"{_INDEX_PREFIX}*")]
        refs_dir = self.git_dir / "refs" / "nodes"
        if refs_dir.is_dir():
            removed += list(refs_dir.glob("*.lock"))
        removed += [p for p in (self.git_dir / "packed-refs.lock",) if p.exists()]
        for p in removed:
            p.unlink(missing_ok=True)
        return removed

    # -- reading ----------------------------------------------------------------------------
    def node_refs(self) -> dict[str, str]:
        """Every ref under refs/nodes/, as ``{refname: sha}`` (names need not be numbers)."""
        out = self._out("for-each-ref", "--format=%(refname) %(objectname)", REF_PREFIX)
        refs = {}
        for line in out.splitlines():
            name, _, sha = line.partition(" ")
            refs[name] = sha
        return refs

    def object_types(self, shas: Iterable[str]) -> dict[str, str | None]:
        """The type ("commit", "tree", ...) of each object, or None where it is missing."""
        types: dict[str, str | None] = {s: None for s in shas}
        # Anything that is not a full sha (a damaged DB row) is reported missing unasked.
        asked = [s for s in types if _SHA.match(s)]
        if not asked:
            return types
        text = "".join(f"{s}\n" for s in asked).encode()
        out = self.git("cat-file", "--batch-check=%(objectname) %(objecttype)", input=text)
        for sha, line in zip(asked, out.stdout.decode().splitlines(), strict=True):
            word = line.split()[-1]
            types[sha] = None if word == "missing" else word
        return types

    def lacking(self, shas: Iterable[str], path: str) -> set[str]:
        """The commits among ``shas`` whose tree has no file at ``path``."""
        asked = [s for s in dict.fromkeys(shas) if _SHA.match(s)]
        if not asked:
            return set()
        text = "".join(f"{s}:{path}\n" for s in asked).encode()
        out = self.git("cat-file", "--batch-check=%(objecttype)", input=text).stdout.decode()
        return {s for s, line in zip(asked, out.splitlines(), strict=True) if line.strip() != "blob"}

    def commit_parents(self, shas: Iterable[str]) -> dict[str, list[str]]:
        """The git parents of each commit; every sha must name an existing commit."""
        shas = list(dict.fromkeys(shas))
        if not shas:
            return {}
        out = self._out(
            "rev-list",
            "--stdin",
            "--no-walk=unsorted",
            "--parents",
            input="".join(f"{s}\n" for s in shas).encode(),
        )
        parents = {}
        for line in out.splitlines():
            sha, *rest = line.split()
            parents[sha] = rest
        return parents

    def checkout(self, sha: str, dest: Path) -> Path:
        """Write the files of commit ``sha`` into ``dest`` (created; must be empty if it exists)."""
        dest = Path(dest)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise ArchiveError(f"cannot check out into {dest}: it exists and is not empty")
        dest.mkdir(parents=True, exist_ok=True)
        index = self.git_dir / f"{_INDEX_PREFIX}{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            self.git("read-tree", sha, env=env)
            self.git(f"--work-tree={dest.resolve()}", "checkout-index", "--all", env=env)
        finally:
            index.unlink(missing_ok=True)
        return dest

    def diff(self, old: str, new: str) -> str:
        """A unified diff from commit ``old`` to commit ``new``."""
        proc = self.git("diff", "--no-color", "--no-ext-diff", "--no-renames", old, new)
        return proc.stdout.decode(errors="replace")

    def fsck(self) -> list[str]:
        """Problems ``git fsck`` reports (dangling objects from killed writes are not problems)."""
        proc = self.git("fsck", "--no-progress", "--no-dangling", "--no-reflogs", check=False)
        lines = (proc.stdout + proc.stderr).decode(errors="replace").splitlines()
        problems = [ln for ln in lines if ln.strip() and not ln.startswith("notice:")]
        if proc.returncode != 0 and not problems:
            problems.append(f"git fsck exited with status {proc.returncode}")
        return problems
