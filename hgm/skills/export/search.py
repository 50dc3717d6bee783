"""``search_skills`` of the MCP server: rank a node's skills for a query.

The same retrieval as ``hgm skills search`` and the agents (:class:`hgm.skills.retrieval.
SkillCatalog` over :func:`hgm.skills.format.search_text`): embedding cosine when an embedder is
given and works, else BM25. The catalogue is built on the first search, so a server starts
without loading a model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hgm.skills.embed import Embedder
from hgm.skills.export import tool_specs
from hgm.skills.format import Skill, search_text
from hgm.skills.retrieval import SkillCatalog, SkillEntry


@dataclass(frozen=True)
class SearchHit:
    """One skill that matches: its name, description, score and the tools that run it."""

    name: str
    description: str
    score: float
    tools: tuple[str, ...]


class SkillSearch:
    """Search over a fixed list of skills."""

    def __init__(self, skills: Sequence[Skill], embedder: Embedder | None = None):
        self._skills = list(skills)
        self._embedder = embedder
        self._tools: dict[str, list[str]] = {}
        for spec in tool_specs(skills):
            self._tools.setdefault(spec.skill.name, []).append(spec.name)
        self._catalog: SkillCatalog | None = None
        self._lock = threading.Lock()

    @property
    def catalog(self) -> SkillCatalog:
        with self._lock:
            if self._catalog is None:
                entries = [SkillEntry(s.name, s.name, s.description, search_text(s)) for s in self._skills]
                self._catalog = SkillCatalog(entries, self._embedder)
            return self._catalog

    @property
    def mode(self) -> str:
        """``"embedding"`` or ``"lexical"`` (see :attr:`SkillCatalog.mode`)."""
        return self.catalog.mode

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` best skills for ``query``, best first."""
        return [
            SearchHit(h.name, h.description, round(float(h.score), 4), tuple(self._tools.get(h.name, ())))
            for h in self.catalog.search(query, k)
        ]


def search_embedder(spec: str | None, run_config: Mapping) -> Embedder | None:
    """The embedder ``spec`` names, by default the one the run's agents use (its
    ``embedding_model``; ``scripted`` for a scripted run). None for ``none``, and, with a
    warning, when the backend is not installed: search_skills then ranks by BM25. ValueError
    for an unknown spec."""
    from hgm.skills.embed import resolve_embedder, run_spec

    if spec is None:
        spec = run_spec(str(run_config.get("embedding_model") or "default"), str(run_config.get("model") or ""))
    try:
        return resolve_embedder(spec)
    except ImportError as e:
        logging.getLogger(__name__).warning("search_skills ranks by BM25: %s", e)
        return None
