"""Named task subsets that DGM and HGM published, so that runs can be set beside theirs.

The lists are upstream's files, unchanged, in ``hgm/bench/subsets/<benchmark>-<name>.json``
(a JSON list of ids): DGM's ``polyglot/subsets/{small,medium}.json`` and
``swe_bench/subsets/{small,medium,big}.json`` from github.com/jennyzzt/dgm (commit
d88fdd6); HGM (github.com/metauto-ai/HGM, commit 013872d) ships the same five lists. See
docs/benchmarks.md, "Named subsets".

Upstream writes a Polyglot exercise as ``<language>__<exercise>``; hgm's task id is
``<language>/<exercise>``. SWE-bench instance ids are the same in both.

Polyglot exercises whose hidden tests pass on the untouched workspace upstream
(:data:`PASS_UNTOUCHED`) score for an agent that does nothing: they are left out of the
named subsets unless asked for.
"""

from __future__ import annotations

import json
from pathlib import Path

from hgm.bench.dirbench import BenchmarkError

SUBSETS_DIR = Path(__file__).with_name("subsets")
BENCHMARKS = ("polyglot", "swebench")
PASS_UNTOUCHED = frozenset(
    {"go/counter", "go/ledger", "go/markdown", "java/ledger", "javascript/ledger"}
)
"""Upstream polyglot exercises whose tests pass before any change (``hgm bench check``
on Aider-AI/polyglot-benchmark; docs/benchmarks.md)."""


def subset_names(benchmark: str) -> list[str]:
    """The subset names known for ``benchmark`` (``polyglot`` or ``swebench``), sorted."""
    _check_benchmark(benchmark)
    prefix = f"{benchmark}-"
    return sorted(p.stem[len(prefix) :] for p in SUBSETS_DIR.glob(f"{prefix}*.json"))


def is_subset_name(benchmark: str, name: str) -> bool:
    """Whether ``name`` names a published subset of ``benchmark``."""
    return name in subset_names(benchmark)


def subset_ids(benchmark: str, name: str, *, include_pass_untouched: bool = False) -> list[str]:
    """The task ids of ``benchmark``'s subset ``name``, in upstream's order, as hgm ids.

    For ``polyglot`` they are ``language/exercise``; exercises in :data:`PASS_UNTOUCHED`
    are left out unless ``include_pass_untouched``. For ``swebench`` they are instance ids
    as upstream writes them. Raises :class:`BenchmarkError` for an unknown benchmark or
    name (listing the valid ones) or a data file that is not a list of ids.
    """
    names = subset_names(benchmark)
    if name not in names:
        raise BenchmarkError(
            f"unknown {benchmark} subset {name!r}; known: {', '.join(names) or 'none'}"
        )
    path = SUBSETS_DIR / f"{benchmark}-{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(isinstance(i, str) and i for i in data):
        raise BenchmarkError(f"{path}: not a JSON list of task ids")
    if benchmark == "swebench":
        return list(data)
    ids = [polyglot_id(upstream) for upstream in data]
    return [i for i in ids if include_pass_untouched or i not in PASS_UNTOUCHED]


def polyglot_id(upstream: str) -> str:
    """``python__bowling`` (DGM's and HGM's spelling) -> ``python/bowling``."""
    language, sep, exercise = upstream.partition("__")
    if not sep or not language or not exercise:
        raise BenchmarkError(f"{upstream!r} is not a polyglot id of the form language__exercise")
    return f"{language}/{exercise}"


def _check_benchmark(benchmark: str) -> None:
    if benchmark not in BENCHMARKS:
        raise BenchmarkError(
            f"no named subsets for benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}"
        )
