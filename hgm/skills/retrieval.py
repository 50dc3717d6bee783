"""Top-k skill search: embedding cosine when an embedder is given, BM25 otherwise.

:class:`SkillCatalog` holds the catalogue's vectors as one normalised float32 matrix, so a
search is one matrix-vector product (over the rows of ``among`` only, when the search is
restricted to a lineage), and a BM25 index as postings per term, so a lexical search touches
only the documents that share a word with the query. ``mode`` says which ranking answers:
``"embedding"``, or ``"lexical"`` when there is no embedder or it turned out to be unavailable
(``note`` then says why). ``hgm skills search`` and the skill expansion's adoption use it; the
agents' own retrieval code (in their source tree) does the same over the gateway.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from hgm.skills.embed import Embedder, EmbeddingUnavailable, normalise

_WORD = re.compile(r"[a-z0-9]+")
# Words too common to say what a skill is for; a query made only of them matches nothing.
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "for", "from", "how", "i", "in", "is",
    "it", "its", "of", "on", "or", "that", "the", "this", "to", "with",
})
# BM25's usual constants: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75


class SkillEntry(NamedTuple):
    """One skill of the catalogue; ``vector`` (unit length, the embedder's model) is embedded
    from ``text`` when missing. A plain 4- or 5-tuple in this order works too."""

    key: Hashable
    name: str
    description: str
    text: str
    vector: Any = None


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine (embedding mode) or the BM25 score."""

    key: Hashable
    name: str
    description: str
    score: float


def words(text: str) -> list[str]:
    """The terms lexical ranking sees: lowercased runs of letters and digits (so
    ``run_tests`` and ``run-tests`` are ``run`` and ``tests``), without :data:`STOPWORDS`."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class SkillCatalog:
    """A searchable set of skills (see the module docstring).

    ``entries``: :class:`SkillEntry` items (or tuples in its order), keys unique. ``embedder``:
    the model whose vectors the entries carry and that embeds queries (and entries without a
    vector); None for lexical ranking.
    """

    def __init__(self, entries: Iterable[Sequence[Any]], embedder: Embedder | None = None) -> None:
        self.entries = [SkillEntry(*e) for e in entries]
        self._row: dict[Hashable, int] = {}
        for i, entry in enumerate(self.entries):
            if entry.key in self._row:
                raise ValueError(f"two skills in the catalogue have the key {entry.key!r}")
            self._row[entry.key] = i
        self.embedder = embedder
        self.note: str | None = None if embedder else "no embedding model: ranked by BM25"
        self._matrix: np.ndarray | None = None
        self._bm25: _BM25 | None = None
        if embedder is not None:
            try:
                self._matrix = self._vectors(embedder)
            except EmbeddingUnavailable as e:
                self._fall_back(e)

    @property
    def mode(self) -> str:
        """``"embedding"`` or ``"lexical"``: how :meth:`search` ranks."""
        return "lexical" if self._matrix is None else "embedding"

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, k: int = 10, among: Collection[Hashable] | None = None) -> list[Hit]:
        """The ``k`` best skills for ``query``, best first; only those whose key is in
        ``among`` when it is given (unknown keys are ignored). Lexical ranking returns only
        skills that share a word with the query."""
        if k <= 0 or not self.entries:
            return []
        rows = None if among is None else np.fromiter(
            (self._row[key] for key in among if key in self._row), dtype=np.int64
        )
        if rows is not None and rows.size == 0:
            return []
        if self._matrix is not None:
            try:
                return self._by_embedding(query, k, rows)
            except EmbeddingUnavailable as e:
                self._fall_back(e)
        return self._by_bm25(query, k, rows)

    def _by_embedding(self, query: str, k: int, rows: np.ndarray | None) -> list[Hit]:
        assert self._matrix is not None and self.embedder is not None
        q = self.embedder.embed([query])[0].astype(np.float32, copy=False)
        matrix = self._matrix if rows is None else self._matrix[rows]
        return self._top(matrix @ q, k, rows, positive_only=False)

    def _by_bm25(self, query: str, k: int, rows: np.ndarray | None) -> list[Hit]:
        if self._bm25 is None:
            self._bm25 = _BM25([e.text for e in self.entries])
        scores = self._bm25.scores(words(query))
        return self._top(scores if rows is None else scores[rows], k, rows, positive_only=True)

    def _top(self, scores: np.ndarray, k: int, rows: np.ndarray | None, *,
             positive_only: bool) -> list[Hit]:
        best = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        # Ties by catalogue order, so that equal scores always come back the same way.
        ordered = sorted(best.tolist(), key=lambda i: (-float(scores[i]), int(i if rows is None else rows[i])))
        hits = []
        for i in ordered:
            score = float(scores[i])
            if positive_only and score <= 0:
                continue
            entry = self.entries[int(i if rows is None else rows[i])]
            hits.append(Hit(entry.key, entry.name, entry.description, score))
        return hits

    def _vectors(self, embedder: Embedder) -> np.ndarray:
        missing = [i for i, e in enumerate(self.entries) if e.vector is None]
        fresh = embedder.embed([self.entries[i].text for i in missing]) if missing else None
        given = [np.asarray(e.vector, dtype=np.float32) for e in self.entries if e.vector is not None]
        dims = {v.shape for v in given} | ({fresh.shape[1:]} if fresh is not None else set())
        if len(dims) > 1:
            raise ValueError(f"the catalogue's vectors disagree in shape: {sorted(dims)}")
        if not self.entries:
            return np.zeros((0, 0), np.float32)
        matrix = np.empty((len(self.entries), *dims.pop()), dtype=np.float32)
        if fresh is not None:
            matrix[missing] = fresh
        for i, entry in enumerate(self.entries):
            if entry.vector is not None:
                matrix[i] = entry.vector
        return normalise(matrix)

    def _fall_back(self, error: Exception) -> None:
        self._matrix = None
        self.note = f"embeddings unavailable ({error}): ranked by BM25"


class _BM25:
    """Okapi BM25 over tokenised documents, as postings: term -> (document rows, counts)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.n = len(texts)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(self.n, dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(words(text))
            lengths[row] = sum(counts.values())
            for term, count in counts.items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(row)
                tfs.append(count)
        average = float(lengths.mean()) if self.n and lengths.mean() > 0 else 1.0
        self._norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / average)
        self._postings = {
            t: (np.array(d, dtype=np.int64), np.array(f, dtype=np.float32))
            for t, (d, f) in postings.items()
        }

    def scores(self, terms: Iterable[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for term in set(terms):
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            idf = math.log(1 + (self.n - docs.size + 0.5) / (docs.size + 0.5))
            out[docs] += idf * tfs * (BM25_K1 + 1) / (tfs + self._norm[docs])
        return out
