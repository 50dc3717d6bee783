"""Finding skills: the catalogue of the agent's own skills/ folder, ranked by a query.

A skill is a folder skills/<name>/ with a SKILL.md (front matter: name, description), a
module <name with - as _>.py whose ``__all__`` lists its entry points, and tests. Ranking uses
embeddings from the gateway (POST /v1/embeddings, OpenAI format) when it serves them, and
BM25 over the skills' words when it does not; the result says which one ranked it and why.
Everything here reads files and never imports a skill's code.
"""

from __future__ import annotations

import ast
import json
import math
import re
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# The skills shipped with this agent's source: <agent root>/skills (/agent/skills in an evaluation).
SKILLS_DIR = Path(__file__).resolve().parent.parent / "skills"
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMBEDDING_TIMEOUT_S = 30.0
# Texts per embeddings request, and the characters of a text sent (hgm's gateway refuses more
# than 512 texts or 32,768 characters).
EMBEDDING_BATCH = 256
EMBEDDING_MAX_CHARS = 8_000
# BM25 constants (the usual defaults).
BM25_K1, BM25_B = 1.5, 0.75


@dataclass(frozen=True)
class EntryPoint:
    name: str
    signature: str  # e.g. "(path: str = '.') -> dict"
    summary: str  # the first line of its docstring


@dataclass(frozen=True)
class SkillInfo:
    name: str
    description: str
    folder: Path
    module: str  # module name, importable with the folder on sys.path
    entry_points: tuple[EntryPoint, ...]

    def search_text(self) -> str:
        """What ranking looks at: name, description, entry points and their first doc lines."""
        calls = [f"{e.name}{e.signature}: {e.summary}" for e in self.entry_points]
        return "\n".join([self.name.replace("-", " "), self.description, *calls])


@dataclass(frozen=True)
class Hit:
    name: str
    description: str
    score: float


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]
    mode: str  # "embedding" or "lexical"
    note: str  # how it was ranked, e.g. "lexical fallback: the gateway has no embedding model"


def load_catalogue(skills_dir: Path = SKILLS_DIR) -> list[SkillInfo]:
    """Every skill folder under ``skills_dir`` that has a SKILL.md, sorted by name."""
    if not skills_dir.is_dir():
        return []
    skills = []
    for folder in sorted(skills_dir.iterdir()):
        if folder.is_dir() and NAME_RE.match(folder.name) and (folder / "SKILL.md").is_file():
            skills.append(load_skill(folder))
    return skills


def load_skill(folder: Path) -> SkillInfo:
    meta = front_matter((folder / "SKILL.md").read_text(encoding="utf-8", errors="replace"))
    module = folder.name.replace("-", "_")
    entry_points = _entry_points(folder / f"{module}.py")
    return SkillInfo(folder.name, meta.get("description", ""), folder, module, entry_points)


def front_matter(text: str) -> dict[str, str]:
    """The top-level ``key: value`` pairs of a SKILL.md's front matter (a small YAML subset:
    quoted values, ``>``/``|`` blocks and indented continuation lines)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    meta: dict[str, str] = {}
    key = None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        match = re.match(r"^([A-Za-z_][\w-]*):\s*(.*)$", line)
        if match and not line[0].isspace():
            key, value = match.group(1), match.group(2).strip()
            meta[key] = "" if value in (">", "|", ">-", "|-") else _unquote(value)
        elif key is not None and line.strip():
            meta[key] = (meta[key] + " " + line.strip()).strip()
    return meta


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _entry_points(module_file: Path) -> tuple[EntryPoint, ...]:
    """The functions named in the module's ``__all__`` (all public functions when it has none)."""
    try:
        tree = ast.parse(module_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    names = _all_names(tree)
    if names is None:
        names = [name for name in functions if not name.startswith("_")]
    points = []
    for name in names:
        node = functions.get(name)
        if node is not None:
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            points.append(
                EntryPoint(name, f"({ast.unparse(node.args)}){returns}", doc[0] if doc else "")
            )
    return tuple(points)


def _all_names(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            return [v for v in value if isinstance(v, str)]
    return None


# -- ranking --------------------------------------------------------------------------------
def rank(
    query: str, skills: list[SkillInfo], k: int, embeddings: EmbeddingClient | None
) -> Ranking:
    """The ``k`` skills most relevant to ``query``: by embedding cosine when the gateway
    serves embeddings, else by BM25 (and the note says why)."""
    texts = [s.search_text() for s in skills]
    if embeddings is None:
        why = "no embeddings endpoint is configured (HGM_GATEWAY_URL is not set)"
    else:
        try:
            vectors = embeddings.embed([query, *texts])
        except EmbeddingUnavailable as e:
            why = str(e)
        else:
            scores = [_cosine(vectors[0], v) for v in vectors[1:]]
            return Ranking(
                _top(skills, scores, k, positive=False),
                "embedding",
                "embedding (cosine similarity)",
            )
    scores = bm25_scores(query, texts)
    return Ranking(
        _top(skills, scores, k, positive=bool(query.strip())), "lexical", f"lexical fallback: {why}"
    )


def _top(skills: list[SkillInfo], scores: list[float], k: int, positive: bool) -> list[Hit]:
    order = sorted(range(len(skills)), key=lambda i: (-scores[i], skills[i].name))
    hits = [Hit(skills[i].name, skills[i].description, round(scores[i], 4)) for i in order]
    return [h for h in hits if h.score > 0 or not positive][:k]


# Words too common to tell skills apart.
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in",
    "is", "it", "of", "on", "or", "that", "the", "this", "to", "with",
})  # fmt: skip


def tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]


def bm25_scores(query: str, texts: list[str]) -> list[float]:
    """Okapi BM25 of ``query`` against each text (0 when no word is shared)."""
    docs = [Counter(tokens(t)) for t in texts]
    if not docs:
        return []
    avg_len = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    scores = []
    for doc in docs:
        length, score = sum(doc.values()), 0.0
        for word in set(tokens(query)):
            df = sum(1 for d in docs if word in d)
            tf = doc.get(word, 0)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += (
                    idf
                    * tf
                    * (BM25_K1 + 1)
                    / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / avg_len))
                )
        scores.append(score)
    return scores


def _cosine(a: list[float], b: list[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=False)) / norm if norm else 0.0


# -- embeddings through the gateway ---------------------------------------------------------
class EmbeddingUnavailable(Exception):
    """The gateway gave no embeddings; the message says why, in a few words."""


class EmbeddingClient:
    """POSTs texts to ``<base_url>/embeddings`` (OpenAI format), remembering vectors by text.

    An answer that says the gateway has no embeddings (404, 501, 503) is remembered, so later
    searches go straight to the lexical ranking instead of asking again.
    """

    def __init__(self, base_url: str, token: str = "", model: str = "default",
                 timeout_s: float = EMBEDDING_TIMEOUT_S):  # fmt: skip
        self.url = base_url.rstrip("/") + "/embeddings"
        self.token, self.model, self.timeout_s = token, model, timeout_s
        self.unavailable: str | None = None
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self.unavailable:
            raise EmbeddingUnavailable(self.unavailable)
        texts = [t[:EMBEDDING_MAX_CHARS] for t in texts]
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(missing), EMBEDDING_BATCH):
            batch = missing[start : start + EMBEDDING_BATCH]
            for text, vector in zip(batch, self._post(batch), strict=True):
                self._cache[text] = vector
        return [self._cache[t] for t in texts]

    def _post(self, texts: list[str]) -> list[list[float]]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"model": self.model, "input": texts}).encode()
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as e:
            why = f"the gateway answered HTTP {e.code}: {_error_message(e)}"
            if e.code in (404, 501, 503):
                self.unavailable = why
            raise EmbeddingUnavailable(why) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise EmbeddingUnavailable(f"embeddings request failed: {e}") from None
        try:
            rows = sorted(data["data"], key=lambda row: row["index"])
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as e:
            raise EmbeddingUnavailable(
                f"malformed embeddings answer ({type(e).__name__}: {e})"
            ) from None
        if len(vectors) != len(texts):
            raise EmbeddingUnavailable(f"asked for {len(texts)} embeddings, got {len(vectors)}")
        return vectors


def _error_message(e: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(e.read()).get("error", {})
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError, OSError):
        message = None
    return str(message or e.reason)[:300]
