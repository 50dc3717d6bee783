"""agents.git: every node is a real commit that plain git tools can read."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hgm.archive import ArchiveError, Run
from hgm.archive.git import AgentsRepo
from hgm.types import NodeKind, NodeStatus


def write_tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def git(run: Run, *args: str) -> str:
    """Plain git, as a user would run it against the run's repository."""
    out = subprocess.run(
        ["git", f"--git-dir={run.path / 'agents.git'}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@pytest.fixture
def archive_run(tmp_path: Path) -> Run:
    seed = write_tree(tmp_path / "seed", {"agent.py": "print('seed')\n", "lib/util.py": "X = 1\n"})
    run = Run.create(tmp_path / "run", seed, config={}, task_ids=["a", "b"], commit_time=1_000)
    yield run
    run.close()


def add_child(run: Run, tmp_path: Path, parent: int, text: str, **kw):
    tree = write_tree(tmp_path / f"tree-{text}", {"agent.py": text, "lib/util.py": "X = 1\n"})
    kw.setdefault("kind", NodeKind.EDIT)
    kw.setdefault("proposal", f"change to {text}")
    return run.add_node(parent, tree, **kw)


def test_seed_is_node_zero_at_refs_nodes_0_without_git_parent(archive_run: Run):
    node = archive_run.node(0)
    assert node.kind is NodeKind.SEED and node.parent is None
    assert git(archive_run, "rev-parse", "refs/nodes/0").strip() == node.commit
    assert git(archive_run, "rev-list", "--parents", "-n1", "refs/nodes/0").split() == [node.commit]


def test_child_commit_has_parent_commit_as_git_parent_and_proposal_as_message(
    archive_run: Run, tmp_path: Path
):
    child = add_child(archive_run, tmp_path, 0, "v1", proposal="Fix the retry loop\n\nbecause.")
    parents = git(archive_run, "rev-list", "--parents", "-n1", "refs/nodes/1").split()
    assert parents == [child.commit, archive_run.node(0).commit]
    assert git(archive_run, "log", "-1", "--format=%B", "refs/nodes/1").strip() == (
        "Fix the retry loop\n\nbecause."
    )


def test_commits_are_authored_by_hgm_at_the_pinned_time(archive_run: Run, tmp_path: Path):
    add_child(archive_run, tmp_path, 0, "v1", commit_time=1_234_567)
    fmt = "%an <%ae>|%cn <%ce>|%at|%ct"
    out = git(archive_run, "log", "-1", f"--format={fmt}", "refs/nodes/1").strip()
    assert out == "hgm <hgm@localhost>|hgm <hgm@localhost>|1234567|1234567"


def test_pinned_commit_time_gives_the_same_shas_in_two_runs(tmp_path: Path):
    seed = write_tree(tmp_path / "seed", {"agent.py": "1\n"})
    tree = write_tree(tmp_path / "tree", {"agent.py": "2\n"})
    shas = []
    for name in ("r1", "r2"):
        with Run.create(tmp_path / name, seed, config={}, task_ids=[], commit_time=5) as run:
            node = run.add_node(0, tree, kind=NodeKind.EDIT, proposal="p", commit_time=6)
            shas.append((run.node(0).commit, node.commit))
    assert shas[0] == shas[1]


def test_node_ids_are_dense_and_every_node_has_a_ref(archive_run: Run, tmp_path: Path):
    add_child(archive_run, tmp_path, 0, "v1")
    add_child(archive_run, tmp_path, 1, "v2", status=NodeStatus.INVALID, reason="imports fail")
    add_child(archive_run, tmp_path, 0, "v3")
    assert [n.id for n in archive_run.nodes()] == [0, 1, 2, 3]
    refs = git(archive_run, "for-each-ref", "--format=%(refname)", "refs/nodes/").split()
    assert sorted(refs) == [f"refs/nodes/{i}" for i in range(4)]


def test_invalid_child_is_committed_with_its_reason(archive_run: Run, tmp_path: Path):
    node = add_child(archive_run, tmp_path, 0, "bad", status=NodeStatus.INVALID, reason="syntax")
    assert archive_run.node(node.id).status is NodeStatus.INVALID
    assert archive_run.node(node.id).reason == "syntax"
    assert git(archive_run, "rev-parse", f"refs/nodes/{node.id}").strip() == node.commit


def test_checkout_materialises_the_node_tree_with_modes(archive_run: Run, tmp_path: Path):
    tree = write_tree(tmp_path / "t", {"agent.py": "new\n", "bin/run.sh": "#!/bin/sh\n"})
    (tree / "bin/run.sh").chmod(0o755)
    node = archive_run.add_node(0, tree, kind=NodeKind.EDIT, proposal="p")
    dest = archive_run.checkout(node.id, tmp_path / "out")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "agent.py",
        "bin/run.sh",
    ]
    assert (dest / "agent.py").read_text() == "new\n"
    assert os.access(dest / "bin/run.sh", os.X_OK)


def test_checkout_refuses_a_non_empty_destination(archive_run: Run, tmp_path: Path):
    dest = write_tree(tmp_path / "busy", {"keep.txt": "mine"})
    with pytest.raises(ArchiveError, match="not empty"):
        archive_run.checkout(0, dest)
    assert (dest / "keep.txt").read_text() == "mine"


def test_diff_shows_the_change_between_two_nodes(archive_run: Run, tmp_path: Path):
    add_child(archive_run, tmp_path, 0, "print('child')\n")
    diff = archive_run.diff(1, against=0)
    assert "-print('seed')" in diff and "+print('child')" in diff
    assert "lib/util.py" not in diff


def test_gitignored_files_in_a_tree_are_left_out(archive_run: Run, tmp_path: Path):
    tree = write_tree(tmp_path / "t", {"agent.py": "x\n", ".gitignore": "*.log\n", "run.log": "."})
    node = archive_run.add_node(0, tree, kind=NodeKind.EDIT, proposal="p")
    files = git(archive_run, "ls-tree", "-r", "--name-only", node.commit).split()
    assert files == [".gitignore", "agent.py"]


def test_user_git_config_neither_changes_commits_nor_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path / "home"
    home.mkdir()
    gitconfig = "[user]\n\tname = Someone Else\n[commit]\n\tgpgSign = true\n"
    (home / ".gitconfig").write_text(gitconfig)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    seed = write_tree(tmp_path / "seed", {"a": "1"})
    with Run.create(tmp_path / "run", seed, config={}, task_ids=[]) as run:
        assert git(run, "log", "-1", "--format=%an", "refs/nodes/0").strip() == "hgm"
    assert (home / ".gitconfig").read_text() == gitconfig


def test_repository_has_automatic_gc_off(archive_run: Run):
    assert git(archive_run, "config", "gc.auto").strip() == "0"


def test_empty_tree_can_be_committed(tmp_path: Path):
    repo = AgentsRepo.init(tmp_path / "r.git")
    (tmp_path / "empty").mkdir()
    sha = repo.commit_tree(tmp_path / "empty", parent=None, message="", commit_time=0)
    assert repo.object_types([sha]) == {sha: "commit"}
