"""The starter skill library: every skill valid and its tests passing in the sandbox, node 0
of a new run carrying it, and the wheel shipping it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hgm
from hgm.config import RunConfig
from hgm.runner import node0_tree, open_or_create
from hgm.sandbox import Mount, RunSpec, get_sandbox
from hgm.skills.format import content_hash, find_skills, read_skill, skill_problems
from hgm.skills.starter import seed_tree_with_skills, starter_skill_folders, starter_skills_dir
from hgm.skills.verify import ENV, TEST_COMMAND
from hgm.types import Task
from tests.skill_fixtures import write_skill

REPO = Path(hgm.__file__).resolve().parent.parent
SEED = Path(hgm.__file__).resolve().parent / "seed_agent"


def test_the_checkout_holds_four_to_eight_valid_starter_skills() -> None:
    assert starter_skills_dir() == REPO / "skills"
    folders = starter_skill_folders()
    assert 4 <= len(folders) <= 8
    for folder in folders:
        assert skill_problems(folder) == [], folder.name
        skill = read_skill(folder)
        assert skill.entry_points and skill.license == "MIT"
        assert "## Example" in skill.body and "run_skill(" in skill.body, folder.name
    skills, invalid = find_skills(REPO)
    assert invalid == [] and [s.name for s in skills] == [f.name for f in folders]


@pytest.mark.slow
def test_every_starter_skill_passes_its_own_tests_in_one_sandbox_run(tmp_path: Path) -> None:
    sandbox = get_sandbox("local")
    if not sandbox.isolated:
        sandbox.close()
        pytest.skip("bubblewrap cannot run here (apt-get install bubblewrap), so local isolates nothing")
    names = [f.name for f in starter_skill_folders()]
    loop = "; ".join(f'(cd {n} && echo "== {n}" && {TEST_COMMAND} 2>&1; echo "== {n} exit $?")' for n in names)
    spec = RunSpec(command=loop, mounts=(Mount(starter_skills_dir(), "/skills", writable=True),),
                   workdir="/skills", env=ENV, time_limit_s=300, network="none")  # fmt: skip
    try:
        result = sandbox.run(spec, tmp_path / "out")
    finally:
        sandbox.close()
    assert result.error is None and result.exit_code == 0, result
    for name in names:
        section = result.stdout.split(f"== {name}\n")[1].split(f"== {name} exit")[0]
        assert re.search(r"^Ran [1-9]\d* tests? in", section, re.MULTILINE), (name, section)
        assert f"== {name} exit 0" in result.stdout, (name, section)


@pytest.mark.slow
def test_node_0_of_a_new_run_is_the_seed_agent_with_the_starter_skills(tmp_path: Path) -> None:
    task = Task("t1", "do it", tmp_path / "ws", tmp_path / "tests", "true")
    run = open_or_create(RunConfig(), tmp_path / "run", resume=False, tasks=[task])
    try:
        tree = run.checkout(0, tmp_path / "node0")
    finally:
        run.close()
    skills, invalid = find_skills(tree)
    assert invalid == []
    assert {s.name: s.content_hash for s in skills} == {f.name: content_hash(f) for f in starter_skill_folders()}
    assert (tree / "skills" / "README.md").read_text() == (SEED / "skills" / "README.md").read_text()
    assert (tree / "run_agent.py").read_bytes() == (SEED / "run_agent.py").read_bytes()
    assert not list(tree.rglob("__pycache__"))


def test_a_users_own_seed_agent_keeps_its_own_skills(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(SEED, seed, ignore=shutil.ignore_patterns("__pycache__"))
    write_skill(seed / "skills", "adder")
    assert node0_tree(RunConfig(seed_agent=seed), tmp_path / "scratch") == seed
    assert not (tmp_path / "scratch").exists()
    # Adding skills never replaces one the tree already has under the same name: the first wins.
    mine = write_skill(tmp_path / "mine", "run-tests")
    starters = starter_skill_folders()
    added = seed_tree_with_skills(seed, tmp_path / "combined", [mine, *starters])
    assert added == ["run-tests", *(f.name for f in starters if f.name != "run-tests")]
    assert content_hash(tmp_path / "combined" / "skills" / "run-tests") == content_hash(mine)
    assert content_hash(tmp_path / "combined" / "skills" / "adder") == content_hash(seed / "skills" / "adder")


@pytest.mark.slow
def test_the_wheel_ships_the_starter_skills_and_finds_them_installed(tmp_path: Path) -> None:
    # With hatchling (hgm's build backend) installed, build offline; else pip fetches it.
    offline = ["--no-build-isolation", "--no-index"] if importlib.util.find_spec("hatchling") else []
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *offline,
                           "-w", tmp_path / "dist", REPO], capture_output=True, text=True, timeout=300)  # fmt: skip
    if proc.returncode != 0 and not offline and os.environ.get("CI") != "true":
        pytest.skip(f"cannot build the wheel without hatchling (pip install hatchling): {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("hgm-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # installing a pure wheel is unpacking it
        archive.extractall(site)
    code = "from hgm.skills.starter import starter_skills_dir; print(starter_skills_dir())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(site)},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    packaged = Path(proc.stdout.strip())
    assert packaged == site / "hgm" / "starter_skills"
    assert {f.name: content_hash(f) for f in packaged.iterdir()} == {f.name: content_hash(f) for f in starter_skill_folders()}
