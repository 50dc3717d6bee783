"""SWE-bench through an instance image in the official layout, offline.

A tiny repository that calls itself django/django 3.0 is installed at /testbed, in its own
Python environment at /opt/miniconda3/envs/testbed (a venv behind a conda-like activate
script), in an image built here from hgm's sandbox image (no registry needed) and tagged
with the published name ``swebench/sweb.eval.x86_64.django_1776_django-90001:latest``. Its
record is a standard one: no ``test_cmd``, no ``eval_script``, so the setup, the test command
(``./tests/runtests.py ... calc_tests.tests``) and the log parser come from the harness's
spec table, exactly as for a real Django instance. The image is built once and reused by tag
(a label holds a digest of its recipe).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

pytest.importorskip("swebench", reason="needs the swebench package: pip install 'hgm[swebench]'")
docker = pytest.importorskip("docker", reason="needs the docker package: pip install 'hgm[docker]'")

from swebench_calc import NEW_TESTS, OPS, TESTS  # noqa: E402

from hgm.bench import BenchmarkError, apply_solution, copy_workspace, get_benchmark  # noqa: E402
from hgm.bench.swebench import grade_log  # noqa: E402
from hgm.jobs.evaluation import run_hidden_tests  # noqa: E402
from hgm.sandbox import SandboxError, get_sandbox  # noqa: E402
from hgm.sandbox import image as sandbox_image  # noqa: E402
from hgm.types import Task  # noqa: E402

pytestmark = pytest.mark.slow

IID = "django__django-90001"
IMAGE = "swebench/sweb.eval.x86_64.django_1776_django-90001:latest"
DIGEST_LABEL = "hgm.test.recipe"

# Django's tests/runtests.py, in miniature: module labels, unittest's verbose output.
RUNTESTS = """\
#!/usr/bin/env python
import argparse
import sys
import unittest

parser = argparse.ArgumentParser()
parser.add_argument("labels", nargs="*")
parser.add_argument("--verbosity", type=int, default=1)
parser.add_argument("--settings")
parser.add_argument("--parallel")
args = parser.parse_args()
print("environment:", sys.prefix)
sys.path.insert(0, sys.path[0])  # the tests folder, as Django's runner has it
suite = unittest.defaultTestLoader.loadTestsFromNames(args.labels)
result = unittest.TextTestRunner(verbosity=args.verbosity).run(suite)
sys.exit(not result.wasSuccessful())
"""
# What `source /opt/miniconda3/bin/activate; conda activate testbed` needs.
ACTIVATE = """\
conda() {
    if [ "$1" = activate ]; then . "/opt/miniconda3/envs/${2:-base}/bin/activate"; fi
}
"""
DOCKERFILE = """\
FROM {base}
USER root
COPY testbed /testbed
COPY activate /opt/miniconda3/bin/activate
RUN python3 -m venv --without-pip /opt/miniconda3/envs/testbed \\
    && site=$(/opt/miniconda3/envs/testbed/bin/python -c \\
        'import sysconfig; print(sysconfig.get_path("purelib"))') \\
    && echo /testbed > "$site/testbed.pth" \\
    && mkdir -p /testbed/calc.egg-info \\
    && echo "Name: calc" > /testbed/calc.egg-info/PKG-INFO \\
    && cd /testbed && git init -q && git add -A && git commit -qm base \\
    && chmod -R 777 /testbed
WORKDIR /testbed
"""


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    proc = subprocess.run(["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def make_repo(path: Path) -> None:
    for rel, text in {
        "calc/__init__.py": "",
        "calc/ops.py": OPS,
        "tests/runtests.py": RUNTESTS,
        "tests/calc_tests/__init__.py": "",
        "tests/calc_tests/tests.py": TESTS,
        "README.md": "calc\n",
    }.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    (path / "tests" / "runtests.py").chmod(0o755)


def patch_of(repo: Path, rel: str, text: str) -> str:
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "base")
    (repo / rel).write_text(text)
    patch = git(repo, "diff")
    git(repo, "checkout", "--quiet", "--", rel)
    return patch


def record(root: Path) -> dict:
    """The instance as the published datasets have it (no test_cmd, no eval_script)."""
    scratch = root / "scratch-repo"
    make_repo(scratch)
    gold = patch_of(scratch, "calc/ops.py", OPS.replace("//", "/"))
    (scratch / "tests/calc_tests/tests.py").write_text(TESTS + NEW_TESTS)
    test_patch = git(scratch, "diff")
    return {
        "repo": "django/django",
        "instance_id": IID,
        "base_commit": git(scratch, "rev-parse", "HEAD").strip(),
        "patch": gold,
        "test_patch": test_patch,
        "problem_statement": "calc.ops.mean([1, 2]) returns 1 instead of 1.5: it truncates.",
        "hints_text": "",
        "created_at": "2025-01-01T00:00:00Z",
        "version": "3.0",
        "FAIL_TO_PASS": json.dumps(
            ["test_mean_of_odd_total (calc_tests.tests.MeanTest.test_mean_of_odd_total)"]
        ),
        "PASS_TO_PASS": json.dumps(["test_add (calc_tests.tests.AddTest.test_add)"]),
        "environment_setup_commit": "0" * 40,
    }


def build_image(client, context: Path) -> None:
    """Build the instance image from ``context`` unless one of the same recipe has the tag."""
    base = sandbox_image.image_tag()
    if not sandbox_image.image_exists(client, base):
        pytest.skip(f"no sandbox image {base}: run python -m hgm.sandbox.image")
    make_repo(context / "testbed")
    (context / "activate").write_text(ACTIVATE)
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    digest = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(context).as_posix().encode() + path.read_bytes())
    try:
        if client.images.get(IMAGE).labels.get(DIGEST_LABEL) == digest.hexdigest():
            return
    except docker.errors.ImageNotFound:
        pass
    client.images.build(path=str(context), tag=IMAGE, rm=True, labels={DIGEST_LABEL: digest.hexdigest()})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    try:
        client = sandbox_image.connect(timeout_s=30)
    except SandboxError as e:
        pytest.skip(f"needs a Docker engine (scripts/ensure-docker.sh): {e}")
    root = tmp_path_factory.mktemp("swebench-image")
    build_image(client, root / "context")
    dataset = root / "verified.jsonl"
    dataset.write_text(json.dumps(record(root)) + "\n")
    sandbox = get_sandbox("docker?prestart=0")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HGM_CACHE_DIR", str(root / "cache"))
        yield {"root": root, "spec": f"swebench:verified?dataset={dataset}&pull=0", "sandbox": sandbox}
    sandbox.close()


@pytest.fixture(scope="module")
def task(world) -> Task:
    (task,) = get_benchmark(world["spec"]).tasks()
    return task


def hidden_tests(world, task: Task, tmp_path: Path, edit=None):
    workspace = copy_workspace(task, tmp_path / "ws")
    if edit is not None:
        edit(workspace)
    result = run_hidden_tests(world["sandbox"], task, workspace, tmp_path, 120)
    assert result.error is None, result.error
    return result, grade_log(task, result.stdout)


def hgm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hgm.cli", *args], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


# -- the task -----------------------------------------------------------------------------------
def test_a_standard_record_becomes_a_task_in_its_instance_image_at_testbed(task):
    assert (task.image, task.workdir) == (IMAGE, "/testbed")
    assert "conda activate testbed" in task.instructions.split("## Issue")[0]
    spec = json.loads((task.tests / "instance.json").read_text())
    assert spec["test_script"] == (
        "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 calc_tests.tests"
    )
    assert spec["log_parser"] == "parse_log_django"
    # the workspace is the image's /testbed (what its install built included), without .git
    assert (task.workspace / "calc.egg-info" / "PKG-INFO").is_file()
    assert not (task.workspace / ".git").exists()
    assert "MeanTest" not in (task.workspace / "tests/calc_tests/tests.py").read_text()


def test_untouched_repository_fails_and_swebench_grades_the_log(world, task, tmp_path):
    result, grade = hidden_tests(world, task, tmp_path)
    assert result.exit_code == 1, result.stdout[-3000:]
    assert "environment: /opt/miniconda3/envs/testbed\n" in result.stdout  # activated
    assert (grade.status, grade.patch_applied, grade.log_graded) == ("RESOLVED_NO", True, True)
    assert grade.tests["FAIL_TO_PASS"]["failure"] == [
        "test_mean_of_odd_total (calc_tests.tests.MeanTest.test_mean_of_odd_total)"
    ]
    assert grade.tests["PASS_TO_PASS"]["success"] == ["test_add (calc_tests.tests.AddTest.test_add)"]


def test_gold_patch_resolves_the_instance(world, task, tmp_path):
    result, grade = hidden_tests(world, task, tmp_path, edit=lambda ws: apply_solution(task, ws))
    assert result.exit_code == 0, result.stdout[-3000:]
    assert (grade.status, grade.resolved) == ("RESOLVED_FULL", True)


def test_hgm_bench_check_passes_the_instance(world):
    proc = hgm("bench", "check", world["spec"], "--sandbox", "docker", "--json")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert json.loads(proc.stdout) == {"tasks": 1, "ok": 1, "problems": []}


# -- gaming ---------------------------------------------------------------------------------------
def test_editing_the_hidden_test_in_testbed_gains_nothing(world, task, tmp_path):
    def cheat(ws: Path) -> None:  # the test the patch adds, written to pass whatever mean does
        (ws / "tests/calc_tests/tests.py").write_text(
            TESTS + NEW_TESTS.replace("self.assertEqual(mean([1, 2]), 1.5)", "pass")
        )

    result, grade = hidden_tests(world, task, tmp_path, edit=cheat)
    assert result.exit_code == 1 and grade.status == "RESOLVED_NO", result.stdout[-3000:]


def test_rewriting_the_repository_s_test_runner_gains_nothing(world, task, tmp_path):
    fake = (
        "#!/usr/bin/env python\n"
        "print('test_add (calc_tests.tests.AddTest.test_add) ... ok')\n"
        "print('test_mean_of_odd_total (calc_tests.tests.MeanTest.test_mean_of_odd_total) ... ok')\n"
    )
    result, grade = hidden_tests(
        world, task, tmp_path, edit=lambda ws: (ws / "tests/runtests.py").write_text(fake)
    )
    assert result.exit_code == 1 and grade.status == "RESOLVED_NO", result.stdout[-3000:]


def test_emptying_the_test_file_gains_nothing(world, task, tmp_path):
    result, grade = hidden_tests(
        world, task, tmp_path, edit=lambda ws: (ws / "tests/calc_tests/tests.py").write_text("")
    )
    assert result.exit_code == 1 and grade.status == "RESOLVED_NO", result.stdout[-3000:]


# -- a whole run ------------------------------------------------------------------------------------
def test_a_scripted_hgm_run_resolves_the_instance_in_its_image(world):
    out = world["root"] / "run"
    model = "scripted:demo?benchmark=" + urllib.parse.quote(world["spec"], safe="")
    proc = hgm("run", "--model", model, "--benchmark", world["spec"], "--sandbox", "docker",
               "--max-evals", "1", "--max-nodes", "1", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from hgm.archive.run import Run

    with Run.open(out, readonly=True) as run:
        evaluations = run.evaluations()
    assert [(e.task, e.outcome.value) for e in evaluations] == [(IID, "pass")], evaluations


# -- where images come from -------------------------------------------------------------------------
def other_instance(world, iid: str) -> Path:
    """A dataset of one record like the fixture's, for instance ``iid``."""
    row = {**json.loads((world["root"] / "verified.jsonl").read_text()), "instance_id": iid}
    dataset = world["root"] / f"{iid}.jsonl"
    dataset.write_text(json.dumps(row) + "\n")
    return dataset


def test_an_image_the_engine_lacks_is_loaded_from_a_docker_save_tarball(world, tmp_path):
    client = sandbox_image.connect(timeout_s=30)
    name = "swebench/sweb.eval.x86_64.django_1776_django-90002:latest"
    client.images.get(IMAGE).tag(name)
    try:
        with open(tmp_path / "django-90002.tar", "wb") as out:
            for chunk in client.images.get(name).save(named=name):
                out.write(chunk)
    finally:
        client.images.remove(name)  # only the tag: the image itself stays under IMAGE
    dataset = other_instance(world, "django__django-90002")
    try:
        (task,) = get_benchmark(f"swebench:verified?dataset={dataset}&pull=0&images={tmp_path}").tasks()
        assert task.image == name and sandbox_image.image_exists(client, name)
    finally:
        client.images.remove(name)


def test_a_missing_image_is_an_error_naming_it_not_an_agent_failure(world):
    dataset = other_instance(world, "django__django-90003")
    with pytest.raises(BenchmarkError) as info:
        get_benchmark(f"swebench:verified?dataset={dataset}&pull=0&images={world['root']}")
    message = str(info.value)
    assert "instance 'django__django-90003': no Docker image" in message
    assert "swebench/sweb.eval.x86_64.django_1776_django-90003:latest" in message
    assert "sweb.eval.x86_64.django__django-90003:latest" in message


def test_a_failed_pull_says_why(world):
    dataset = other_instance(world, "django__django-90004")
    with pytest.raises(BenchmarkError, match="pulling swebench/sweb.eval.x86_64.django_1776_django-90004:latest failed"):
        get_benchmark(f"swebench:verified?dataset={dataset}")


def test_a_run_in_a_sandbox_that_runs_no_images_stops_before_it_starts(world):
    proc = hgm("run", "--model", "scripted:demo", "--benchmark", world["spec"], "--sandbox", "local",
               "--max-evals", "1", "--out", str(world["root"] / "local-run"))  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"task {IID} runs in container image {IMAGE}" in proc.stdout + proc.stderr
    assert "--sandbox docker" in proc.stdout + proc.stderr


def has_buildx() -> bool:
    return subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0


def task_repo(root: Path, iid: str) -> Path:
    """A swebench 5 task repository whose Dockerfile for ``iid`` is the fixture's image."""
    folder = root / "task-repo"
    (folder / "tasks" / iid).mkdir(parents=True, exist_ok=True)
    (folder / "tasks" / iid / "Dockerfile").write_text(f"FROM {IMAGE}\n")
    return folder


def test_swebench_s_builder_builds_a_missing_image_from_a_task_repo(world, tmp_path, monkeypatch):
    if not has_buildx():
        pytest.skip("swebench's image builder needs docker buildx (install docker-buildx-plugin)")
    iid = "django__django-90005"
    monkeypatch.chdir(tmp_path)  # swebench's builder writes logs/image_builder here
    spec = f"swebench:verified?dataset={other_instance(world, iid)}&pull=0&build={task_repo(tmp_path, iid)}"
    client = sandbox_image.connect(timeout_s=30)
    try:
        (task,) = get_benchmark(spec).tasks()
        assert task.image == f"sweb.eval.x86_64.{iid}:latest"
    finally:
        if sandbox_image.image_exists(client, f"sweb.eval.x86_64.{iid}:latest"):
            client.images.remove(f"sweb.eval.x86_64.{iid}:latest")


def test_without_buildx_building_a_missing_image_says_what_is_missing(world, tmp_path):
    if has_buildx():
        pytest.skip("this machine has docker buildx: the build itself is tested")
    iid = "django__django-90005"
    spec = f"swebench:verified?dataset={other_instance(world, iid)}&pull=0&build={task_repo(tmp_path, iid)}"
    with pytest.raises(BenchmarkError, match=f"building sweb.eval.x86_64.{iid}:latest failed: "
                       "swebench's image builder needs docker buildx"):  # fmt: skip
        get_benchmark(spec)
