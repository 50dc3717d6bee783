"""``POST /v1/embeddings``: the run's embedding model, served to sandboxed agents.

The request is OpenAI's: ``input`` (a string or a list of strings, required), ``model`` (a
string, ignored: the run's ``embedding_model`` decides), ``encoding_format`` (``float``, the
default, or ``base64`` of little-endian float32, which the OpenAI SDKs ask for), ``user``.
Anything else is refused with a 400 naming the field, as are token-id inputs, more than
:data:`MAX_INPUTS` texts, or a text over :data:`MAX_INPUT_CHARS` characters.

The answer is ``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
"model", "usage": {"prompt_tokens", "total_tokens"}}``. Vectors come from the run's
:class:`~hgm.skills.embed.CachedEmbedder`, so an unchanged text is embedded once per run.
Each call is recorded like a chat call (model id, the inputs, tokens, cost; never the
vectors) and charged to the budget. A run without an embedding model (``none``, or its
package not installed) answers 503 ``embeddings_unavailable``; that is recorded as a refused
call but never as an infrastructure failure, since agents are expected to rank lexically then.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hgm.gateway import LLMCall, Scope
from hgm.gateway.accounting import Budget, Reservation
from hgm.gateway.validation import BadRequest, check_fields

log = logging.getLogger(__name__)

MAX_INPUTS = 512
MAX_INPUT_CHARS = 32_768
ALLOWED_FIELDS = frozenset({"input", "model", "encoding_format", "user"})
_FORMATS = ("float", "base64")


class NoEmbeddingModel(Exception):
    """The run has no usable embedding model (HTTP 503)."""


def parse_embedding_request(body: Any) -> tuple[list[str], str]:
    """The texts and the encoding format of a decoded request body; :class:`BadRequest` names
    the first field that is not allowed or not well formed."""
    check_fields(body, ALLOWED_FIELDS, "the embeddings endpoint")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise BadRequest("'input' is required: a string or a non-empty list of strings")
    if len(texts) > MAX_INPUTS:
        raise BadRequest(f"'input' has {len(texts)} texts; the gateway allows at most {MAX_INPUTS}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise BadRequest(f"'input[{i}]' must be a string (token ids are not accepted)")
        if len(text) > MAX_INPUT_CHARS:
            raise BadRequest(
                f"'input[{i}]' has {len(text):,} characters; the gateway allows {MAX_INPUT_CHARS:,}"
            )
    for key in ("model", "user"):
        if body.get(key) is not None and (not isinstance(body[key], str) or len(body[key]) > 256):
            raise BadRequest(f"'{key}' must be a string of at most 256 characters")
    encoding = body.get("encoding_format") or "float"
    if encoding not in _FORMATS:
        raise BadRequest(f"'encoding_format' must be one of: {', '.join(_FORMATS)}")
    return texts, encoding


def embedding_body(vectors: np.ndarray, model: str, prompt_tokens: int, encoding: str) -> dict:
    """The OpenAI response body for ``vectors`` (one row per input, in order)."""
    data = []
    for i, row in enumerate(np.asarray(vectors, dtype=np.float32)):
        vector: Any = (
            base64.b64encode(row.astype("<f4").tobytes()).decode()
            if encoding == "base64"
            else [float(x) for x in row]
        )
        data.append({"object": "embedding", "index": i, "embedding": vector})
    usage = {"prompt_tokens": int(prompt_tokens), "total_tokens": int(prompt_tokens)}
    return {"object": "list", "data": data, "model": model, "usage": usage}


class EmbeddingService:
    """Embeds for the gateway under the run's budget, and records each call.

    ``embedder`` is the run's embedder (None: the run has none); ``recorder`` gets one
    :class:`~hgm.gateway.LLMCall` per call, successful or not.
    """

    def __init__(self, embedder: Any, *, budget: Budget, recorder: Callable[[LLMCall], None]):
        self.embedder = embedder
        self._budget = budget
        self._recorder = _never_raising(recorder)

    @property
    def model_id(self) -> str:
        return "none" if self.embedder is None else str(self.embedder.model_id)

    def run(self, texts: Sequence[str], scope: Scope, body: dict | None = None) -> Any:
        """Embed ``texts`` for ``scope``: an :class:`~hgm.skills.embed.EmbeddingBatch`.

        Raises :class:`NoEmbeddingModel`, the budget's BudgetExhausted, or the backend's
        ModelError / TransientModelError (one attempt: a caller can always rank lexically).
        """
        from hgm.skills.embed import EmbeddingUnavailable, embed_batch

        start = time.monotonic()
        record = {"input": list(texts)} if body is None else body
        try:
            if self.embedder is None:
                raise NoEmbeddingModel(
                    "this run has no embedding model (embedding_model: none); rank lexically"
                )
            self._budget.check()
            batch = embed_batch(self.embedder, list(texts))
        except EmbeddingUnavailable as e:
            self._failed(scope, record, start, NoEmbeddingModel(f"no embedding model: {e}"))
            raise NoEmbeddingModel(f"no embedding model: {e}") from e
        except Exception as e:
            self._failed(scope, record, start, e)
            raise
        self._budget.settle(Reservation(), batch.cost_usd)
        response = {"object": "list", "model": self.model_id, "embeddings": len(texts),
                    "dimensions": int(batch.vectors.shape[1]) if batch.vectors.ndim == 2 else 0,
                    "usage": {"prompt_tokens": batch.prompt_tokens}}
        self._recorder(LLMCall(
            scope=scope, model=self.model_id, request={"endpoint": "embeddings", **record},
            response=response, prompt_tokens=batch.prompt_tokens, completion_tokens=0,
            cost_usd=batch.cost_usd, latency_s=time.monotonic() - start, error=None,
        ))
        return batch

    def refused(self, scope: Scope, record: dict, error: str) -> None:
        """Record a request refused for what it was (the agent's mistake)."""
        self._record_error(scope, record, time.monotonic(), error, agent_error=True)

    def _failed(self, scope: Scope, record: dict, start: float, e: Exception) -> None:
        from hgm.gateway import BadModelRequest

        # No embedding model is the run's setting, not a failure of the infrastructure: the
        # agent falls back to lexical ranking, and its evaluation stands.
        agent_error = isinstance(e, NoEmbeddingModel | BadModelRequest)
        self._record_error(scope, record, start, f"{type(e).__name__}: {e}", agent_error=agent_error)

    def _record_error(self, scope: Scope, record: dict, start: float, error: str, *,
                      agent_error: bool) -> None:
        self._recorder(LLMCall(
            scope=scope, model=self.model_id, request={"endpoint": "embeddings", **record},
            response=None, prompt_tokens=0, completion_tokens=0, cost_usd=0.0,
            latency_s=time.monotonic() - start, error=error, agent_error=agent_error,
        ))


def _never_raising(recorder: Callable[[LLMCall], None]) -> Callable[[LLMCall], None]:
    def record(call: LLMCall) -> None:
        try:
            recorder(call)
        except Exception:
            # Losing one record must not take the endpoint down for every sandbox.
            log.exception("the LLM call recorder failed (scope %s)", call.scope)

    return record
