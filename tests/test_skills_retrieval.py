"""SkillCatalog: embedding search, BM25 fallback, and lineage restriction."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from hgm.skills.embed import ScriptedEmbedder, UnavailableEmbedder
from hgm.skills.retrieval import Hit, SkillCatalog, SkillEntry

SKILLS = [
    SkillEntry(1, "run-tests", "Run the unit tests and summarise the failures",
               "run-tests run the unit tests and summarise the failures run_tests(path)"),
    SkillEntry(2, "find-symbol", "Find where a symbol is defined and used",
               "find-symbol find where a python symbol is defined and used find_symbol(name)"),
    SkillEntry(3, "atomic-edit", "Apply several edits at once, roll back on a syntax error",
               "atomic-edit apply several text edits to files at once roll back on syntax error"),
    SkillEntry(4, "repro-test", "Make a minimal reproduction of a failing test",
               "repro-test make a minimal reproduction script of one failing unit test"),
]


class CountingEmbedder:
    def __init__(self) -> None:
        self.model_id = "scripted"
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return ScriptedEmbedder().embed(texts)


def names(hits: list[Hit]) -> list[str]:
    return [h.name for h in hits]


def test_embedding_search_ranks_the_closest_skill_first_with_falling_scores():
    catalog = SkillCatalog(SKILLS, ScriptedEmbedder())
    assert catalog.mode == "embedding"
    hits = catalog.search("which unit tests fail? summarise the failures", k=3)
    assert names(hits)[0] == "run-tests" and len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0] == Hit(1, "run-tests", SKILLS[0].description, hits[0].score)


def test_a_search_restricted_to_a_lineage_only_returns_its_skills():
    catalog = SkillCatalog(SKILLS, ScriptedEmbedder())
    hits = catalog.search("summarise the failing unit tests", k=10, among={2, 3, 99})
    assert {h.key for h in hits} == {2, 3}
    assert catalog.search("anything", among=[]) == []
    assert catalog.search("anything", among={99}) == []


def test_vectors_that_entries_carry_are_used_and_only_queries_are_embedded():
    vectors = ScriptedEmbedder().embed([s.text for s in SKILLS])
    embedder = CountingEmbedder()
    catalog = SkillCatalog([s._replace(vector=v) for s, v in zip(SKILLS, vectors, strict=True)], embedder)
    assert names(catalog.search("find where a symbol is used", k=1)) == ["find-symbol"]
    assert embedder.asked == ["find where a symbol is used"]


def test_without_an_embedder_search_is_lexical_and_skips_unrelated_skills():
    catalog = SkillCatalog([tuple(s)[:4] for s in SKILLS])
    assert catalog.mode == "lexical" and "BM25" in catalog.note
    hits = catalog.search("roll back a syntax error")
    assert names(hits) == ["atomic-edit"]
    assert catalog.search("kubernetes deployment") == []


def test_bm25_scores_follow_the_formula():
    docs = ["apple banana", "apple apple cherry cherry", "banana"]
    catalog = SkillCatalog([(i, f"s{i}", "", t) for i, t in enumerate(docs)])
    lengths, average, n = [2, 4, 1], 7 / 3, 3

    def term(tf: int, df: int, length: int) -> float:
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))

    hits = {h.key: h.score for h in catalog.search("apple cherry", k=3)}
    assert hits[1] == pytest.approx(term(2, 2, lengths[1]) + term(2, 1, lengths[1]), rel=1e-5)
    assert hits[0] == pytest.approx(term(1, 2, lengths[0]), rel=1e-5)
    assert 2 not in hits


def test_an_unavailable_embedder_falls_back_to_lexical_and_says_why():
    catalog = SkillCatalog(SKILLS, UnavailableEmbedder("default", "sentence-transformers missing"))
    assert catalog.mode == "lexical" and "sentence-transformers missing" in catalog.note
    assert names(catalog.search("minimal reproduction of a failing test", k=1)) == ["repro-test"]


def test_k_beyond_the_catalogue_returns_every_skill_once():
    hits = SkillCatalog(SKILLS, ScriptedEmbedder()).search("tests", k=50)
    assert sorted(h.key for h in hits) == [1, 2, 3, 4]


def test_duplicate_keys_and_vectors_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="key 1"):
        SkillCatalog([SKILLS[0], SKILLS[0]])
    mixed = [SKILLS[0]._replace(vector=np.ones(3)), SKILLS[1]._replace(vector=np.ones(4))]
    with pytest.raises(ValueError, match="disagree in shape"):
        SkillCatalog(mixed, ScriptedEmbedder())
