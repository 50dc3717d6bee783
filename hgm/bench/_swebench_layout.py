"""Laying out a SWE-bench task on disk: workspace, hidden tests, reference solution.

The repository comes from a git repository (a record with hgm's ``test_cmd``) or from the
instance image's /testbed; either way it is put under git at the base commit, the test patch
and the gold patch are checked against it, and the entry is built aside and renamed into the
cache (:func:`materialize`), under a digest of everything it is built from (:func:`digest`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from hgm.bench import _swebench_repo as gitops
from hgm.bench._swebench_dataset import Instance
from hgm.bench._swebench_grading import bundle_grader, require_swebench
from hgm.bench._swebench_images import ImageSource, InstanceImage
from hgm.bench._swebench_specs import runner_paths
from hgm.bench.dirbench import BenchmarkError

RUNNER = Path(__file__).with_name("_swebench_runner.py")
_LAYOUT_VERSION = "3"  # part of every cache digest: bump when the cached layout changes


def source_repo(
    instance: Instance, cache: Path, repos: Path | None, base: Path | None
) -> tuple[Path, bool]:
    """(the local git repository to check out from, whether it may be fetched into)."""
    label = f"instance {instance.instance_id!r}"
    if instance.repo_path:
        path = Path(instance.repo_path).expanduser()
        path = path if path.is_absolute() or base is None else base / path
        field = "repo_path"
    elif repos is not None:
        path, field = repos / instance.repo.replace("/", "__"), "repo"
    else:
        try:
            return gitops.github_clone(instance.repo, cache / "repos"), True
        except gitops.GitError as e:
            raise BenchmarkError(
                f"{label}: could not clone field 'repo' {instance.repo!r} from GitHub (internet "
                f"needed; offline, pass repos=DIR or give 'repo_path'): {e}"
            ) from None
    try:
        gitops.git("rev-parse", "--git-dir", cwd=path)
    except (gitops.GitError, OSError):
        raise BenchmarkError(f"{label}: field {field!r}: {path} is not a git repository") from None
    return path, False


def from_git(instance: Instance, harness: dict, source: Path, fetchable: bool, root: Path) -> None:
    label = f"instance {instance.instance_id!r}"
    if not gitops.ensure_commit(source, instance.base_commit, fetchable):
        raise BenchmarkError(
            f"{label}: field 'base_commit': {source} has no commit {instance.base_commit}"
        )
    checkout = root / "checkout"
    gitops.shared_checkout(source, instance.base_commit, checkout)
    _lay_out_checkout(instance, harness, checkout, root)


def from_image(
    instance: Instance, harness: dict, images: ImageSource, image: InstanceImage, root: Path
) -> None:
    """The task from the image's /testbed, put under git for the patch work (every file
    tracked, ignored ones too: build products must survive the resets)."""
    checkout = root / "checkout"
    images.copy_testbed(image, checkout)
    gitops.git("init", "--quiet", cwd=checkout)
    gitops.git("add", "--all", "--force", cwd=checkout)
    gitops.git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", "testbed", cwd=checkout)
    _lay_out_checkout(instance, harness, checkout, root)


def _lay_out_checkout(instance: Instance, harness: dict, checkout: Path, root: Path) -> None:
    """Tests, reference solution and workspace from ``checkout`` (a git repository at the
    base commit, which becomes the workspace without its .git)."""
    label = f"instance {instance.instance_id!r}"
    test_patch = instance.test_patch.encode()
    try:
        test_files = gitops.patch_paths(checkout, test_patch)
        gitops.apply_patch(checkout, test_patch, check_only=True)
        # The repository's own test runner (Django's tests/runtests.py, SymPy's bin/test) is
        # put back with the tests: an agent that rewrote it could print passes of its own.
        runners = runner_paths(harness["setup_script"] + "\n" + harness["test_script"])
        test_files += [p for p in runners if (checkout / p).is_file() and p not in test_files]
    except gitops.GitError as e:
        raise BenchmarkError(
            f"{label}: field 'test_patch' does not apply at base_commit: {e}"
        ) from None
    tests = root / "tests"
    tests.mkdir()
    for rel in test_files:
        if (checkout / rel).is_file():
            _copy(checkout / rel, tests / "originals" / rel)
    (tests / "test.patch").write_bytes(test_patch)
    spec = {
        "instance_id": instance.instance_id,
        "repo": instance.repo,
        "version": instance.version,
        "FAIL_TO_PASS": instance.FAIL_TO_PASS,
        "PASS_TO_PASS": instance.PASS_TO_PASS,
        "test_files": test_files,
        **harness,
    }
    (tests / "instance.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    shutil.copyfile(RUNNER, tests / "run.py")
    bundle_grader(tests)
    _lay_out_solution(instance, checkout, root / "solution")
    shutil.rmtree(checkout / ".git")
    checkout.rename(root / "workspace")


def _lay_out_solution(instance: Instance, checkout: Path, dest: Path) -> None:
    """The files the gold patch changes, as it leaves them; nothing when it removes a file."""
    if not instance.patch.strip():
        return
    patch = instance.patch.encode()
    try:
        paths = gitops.patch_paths(checkout, patch)
        gitops.apply_patch(checkout, patch)
    except gitops.GitError as e:
        raise BenchmarkError(
            f"instance {instance.instance_id!r}: field 'patch' does not apply at base_commit: {e}"
        ) from None
    if all((checkout / rel).is_file() for rel in paths):
        for rel in paths:
            _copy(checkout / rel, dest / rel)
    gitops.reset(checkout)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def materialize(dest: Path, build) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
    try:
        build(tmp)
        # Built aside and renamed: a reader never sees half an entry, and of two loads
        # racing, the second finds the first one's entry and drops its own.
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def digest(instance: Instance, harness: dict, image: InstanceImage | None) -> str:
    h = hashlib.sha256()
    used = instance.model_dump(exclude={"repo_path", "image"})
    built_on = [image.name, image.id] if image is not None else None
    h.update(
        json.dumps(
            [_LAYOUT_VERSION, require_swebench().__version__, used, harness, built_on]
        ).encode()
    )
    h.update(RUNNER.read_bytes())
    return h.hexdigest()
