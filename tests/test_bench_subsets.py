"""Named subsets: the task lists DGM and HGM published, selectable as ``?subset=NAME``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hgm.bench import BenchmarkError, get_benchmark
from hgm.bench.subsets import PASS_UNTOUCHED, SUBSETS_DIR, polyglot_id, subset_ids, subset_names


def upstream(name: str) -> list[str]:
    return json.loads((SUBSETS_DIR / f"{name}.json").read_text())


def test_published_subsets_are_known_by_name():
    assert subset_names("polyglot") == ["medium", "small"]
    assert subset_names("swebench") == ["big", "medium", "small"]
    sizes = {n: len(upstream(f"swebench-{n}")) for n in subset_names("swebench")}
    assert sizes == {"small": 10, "medium": 50, "big": 140}


def test_polyglot_ids_are_mapped_and_exercises_that_pass_untouched_are_left_out():
    raw = upstream("polyglot-medium")
    ids = subset_ids("polyglot", "medium")
    everything = subset_ids("polyglot", "medium", include_pass_untouched=True)
    assert everything == [i.replace("__", "/") for i in raw]
    assert set(everything) - set(ids) == {"go/counter", "go/markdown", "java/ledger"}
    assert ids == [i for i in everything if i not in PASS_UNTOUCHED]
    assert len(ids) == 47 and "go/dominoes" in subset_ids("polyglot", "small")


def test_swebench_ids_come_back_as_upstream_writes_them():
    assert subset_ids("swebench", "small") == upstream("swebench-small")
    assert subset_ids("swebench", "small")[0] == "django__django-10973"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: subset_ids("polyglot", "huge"), "unknown polyglot subset 'huge'; known: medium, small"),
        (lambda: subset_ids("builtin", "small"), "no named subsets for benchmark 'builtin'"),
        (lambda: polyglot_id("bowling"), "'bowling' is not a polyglot id"),
    ],
)
def test_unknown_names_are_one_line_errors(call, message):
    with pytest.raises(BenchmarkError, match=message.replace("(", r"\(")):
        call()


def checkout_of(ids: list[str], root: Path) -> Path:
    """A checkout holding a minimal exercise for each id (enough to load, not to run)."""
    for task_id in ids:
        language, _, name = task_id.partition("/")
        folder = root / language / "exercises" / "practice" / name
        (folder / ".meta").mkdir(parents=True)
        (folder / ".docs").mkdir()
        (folder / ".docs" / "instructions.md").write_text(f"# {name}\n")
        (folder / "solution.txt").write_text("stub")
        (folder / "test.txt").write_text("test")
        (folder / ".meta" / "config.json").write_text(
            json.dumps({"files": {"solution": ["solution.txt"], "test": ["test.txt"]}})
        )
    return root


def test_polyglot_subset_by_name_selects_upstreams_exercises_in_every_language(tmp_path, monkeypatch):
    monkeypatch.setenv("HGM_CACHE_DIR", str(tmp_path / "cache"))
    small = subset_ids("polyglot", "small")
    checkout = checkout_of([*small, "python/extra"], tmp_path / "checkout")
    bench = get_benchmark(f"polyglot:{checkout}?subset=small")
    assert sorted(t.id for t in bench.tasks()) == sorted(small)
    python_only = get_benchmark(f"polyglot:{checkout}?subset=small&languages=python")
    assert [t.id for t in python_only.tasks()] == ["python/beer-song", "python/dominoes"]  # benchmark order


def test_polyglot_subset_naming_an_exercise_the_checkout_lacks_is_an_error(tmp_path):
    checkout = checkout_of(subset_ids("polyglot", "small")[1:], tmp_path / "checkout")
    with pytest.raises(BenchmarkError, match="unknown exercise"):
        get_benchmark(f"polyglot:{checkout}?subset=small")
