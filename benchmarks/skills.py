"""Skill search benchmark: top-10 retrieval restricted to one lineage in a big catalogue, and
the embedding model's throughput.

A catalogue of ``--skills`` synthetic skills (names and texts drawn from a coding vocabulary,
vectors random unit vectors of 384 dimensions, the default model's size) is loaded into a
:class:`hgm.skills.retrieval.SkillCatalog`. Each query is embedded by the scripted embedder
(384 dimensions) and searched top-10 among one lineage: a random set of ``--lineage`` keys, as
the skills one node inherits would be. Figures:

* ``search_ms_median``: median wall time of one such search (query embedding, restriction,
  scoring, top-k), over ``--queries`` queries; target <= 15 ms at 100,000 skills;
* ``search_all_ms_median``: the same over the whole catalogue (no restriction);
* ``lexical_search_ms_median``: the same lineage search ranked by BM25 (no embedder);
* ``embed_per_s``: texts per second that ``--embed-model`` (default: the offline default
  model, sentence-transformers) embeds, over ``--embed-texts`` real texts (the first docstring
  paragraphs of hgm's own source), measured after the model is loaded and warmed up; null,
  with a note on stderr, when the model cannot be loaded.

Output (``--json``): ``{"skills": N, "search_ms_median": float, "embed_per_s": float | null,
"search_all_ms_median": float, "lexical_search_ms_median": float, "lineage": L,
"embed_model": str, "embed_texts": T}``.

    python benchmarks/skills.py [--skills 100000] [--lineage 200] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from hgm.skills.embed import EmbeddingUnavailable, ScriptedEmbedder, resolve_embedder
from hgm.skills.retrieval import SkillCatalog, SkillEntry

DIM = 384
_WORDS = (
    "run test tests suite failure failing summarise parse file files edit patch diff apply "
    "rollback syntax error symbol definition usage find search grep replace rename refactor "
    "import module package function class method argument return value type annotation "
    "docstring json yaml csv config settings path folder directory git commit branch merge "
    "log trace stack exception retry timeout cache database query sql index table row column "
    "http request response header status url client server socket process subprocess shell "
    "command output input stream buffer encode decode unicode bytes string number integer "
    "float list dict set sort filter map reduce group count sum mean median format print "
    "report lint style check verify validate schema compile build install dependency version "
    "benchmark profile memory cpu thread lock async queue worker pool schedule minimal "
    "reproduction bisect regression fixture mock coverage assert compare snapshot"
)
VOCABULARY = _WORDS.split()


def synthetic_catalogue(n: int, rng: np.random.Generator) -> list[SkillEntry]:
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = rng.integers(0, len(VOCABULARY), size=(n, 14))
    entries = []
    for i in range(n):
        text = " ".join(VOCABULARY[w] for w in words[i])
        name = "-".join(VOCABULARY[w] for w in words[i][:2]) + f"-{i}"
        entries.append(SkillEntry(i, name, text[:80], f"{name} {text}", vectors[i]))
    return entries


def queries(count: int, rng: np.random.Generator) -> list[str]:
    return [" ".join(VOCABULARY[w] for w in rng.integers(0, len(VOCABULARY), 6)) for _ in range(count)]


def median_ms(catalog: SkillCatalog, texts: list[str], lineages: list[np.ndarray] | None) -> float:
    times = []
    for i, text in enumerate(texts):
        among = None if lineages is None else lineages[i]
        start = time.perf_counter()
        catalog.search(text, k=10, among=among)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def real_texts(limit: int) -> list[str]:
    """First docstring paragraphs of hgm's own functions, classes and modules."""
    root = Path(__file__).resolve().parent.parent / "hgm"
    texts: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append(" ".join(doc.split("\n\n")[0].split()))
                if len(texts) >= limit:
                    return texts
    return texts


def embed_per_s(spec: str, count: int) -> float | None:
    texts = real_texts(count)
    try:
        embedder = resolve_embedder(spec)
        if embedder is None:
            raise EmbeddingUnavailable("embedding model 'none'")
        embedder.embed(texts[:8])  # load and warm up
    except (ImportError, EmbeddingUnavailable) as e:
        print(f"note: embed_per_s not measured: {e}", file=sys.stderr)
        return None
    start = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=100_000)
    parser.add_argument("--lineage", type=int, default=200, help="keys one search is restricted to")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embed-model", default="default")
    parser.add_argument("--embed-texts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    entries = synthetic_catalogue(args.skills, rng)
    asked = queries(args.queries, rng)
    lineage = min(args.lineage, args.skills)
    lineages = [rng.choice(args.skills, size=lineage, replace=False) for _ in asked]
    catalog = SkillCatalog(entries, ScriptedEmbedder(DIM))
    lexical = SkillCatalog([e._replace(vector=None) for e in entries])
    lexical.search("warm up the index")
    figures = {
        "skills": args.skills,
        "search_ms_median": round(median_ms(catalog, asked, lineages), 3),
        "embed_per_s": None,
        "search_all_ms_median": round(median_ms(catalog, asked, None), 3),
        "lexical_search_ms_median": round(median_ms(lexical, asked, lineages), 3),
        "lineage": lineage,
        "embed_model": args.embed_model,
        "embed_texts": min(args.embed_texts, max(8, args.skills)),
    }
    per_s = embed_per_s(args.embed_model, figures["embed_texts"])
    figures["embed_per_s"] = None if per_s is None else round(per_s, 1)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
