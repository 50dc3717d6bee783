"""``search_skills`` of the MCP server: rank a node's skills for a query.

Lexical: BM25 over the text the run's retrieval indexes (:func:`hgm.skills.format.search_text`:
name, description, entry-point signatures and docstrings).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hgm.skills.export import tool_specs
from hgm.skills.format import Skill, search_text

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SearchHit:
    """One skill that matches: its name, description, score and the tools that run it."""

    name: str
    description: str
    score: float
    tools: tuple[str, ...]


class SkillSearch:
    """Search over a fixed list of skills."""

    def __init__(self, skills: Sequence[Skill]):
        self._skills = {s.name: s for s in skills}
        self._tools: dict[str, list[str]] = {}
        for spec in tool_specs(skills):
            self._tools.setdefault(spec.skill.name, []).append(spec.name)
        self._docs = {s.name: Counter(_words(search_text(s))) for s in skills}
        self.mode = "lexical"

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` best skills for ``query``, best first (skills sharing no word are left out)."""
        scores = _bm25(_words(query), self._docs)
        ranked = sorted((item for item in scores.items() if item[1] > 0), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [
            SearchHit(name, self._skills[name].description, round(score, 4), tuple(self._tools.get(name, ())))
            for name, score in ranked
        ]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _bm25(query: list[str], docs: dict[str, Counter], k1: float = 1.2, b: float = 0.75) -> dict[str, float]:
    n = len(docs) or 1
    avg = sum(sum(c.values()) for c in docs.values()) / n or 1.0
    scores = {}
    for name, counts in docs.items():
        length = sum(counts.values())
        score = 0.0
        for word in set(query):
            tf = counts.get(word, 0)
            if not tf:
                continue
            df = sum(1 for c in docs.values() if word in c)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        scores[name] = score
    return scores
