"""``hf:MODEL``: a local model run with transformers, behind the same gateway as any provider.

MODEL is a local folder (or a hub id where a hub is reachable). The model and tokenizer are
loaded once per run, on the GPU when torch sees one and on the CPU otherwise. A request is
rendered with the tokenizer's chat template (tools included), generated, and its tool calls
are read back into OpenAI ``tool_calls`` (:mod:`hgm.gateway.toolcalls`). Tokens are counted
with the tokenizer: the prompt's ids, and the ids generated up to the end of the reply.

Concurrent calls from parallel workers share the one model: a single generation thread takes
the queued requests and runs those with the same sampling settings as one padded batch.

Cost (``--max-usd`` means the same for every backend):

- ``?input_cost_per_1m=...&output_cost_per_1m=...``: dollars per million tokens;
- ``?usd_per_gpu_hour=...``: the device's time, each batch's seconds shared among its calls in
  proportion to the tokens each one processed (prompt and reply);
- neither: no price is known, so a run with ``--max-usd`` refuses the model unless the config
  gives a price or ``--allow-free`` says it is free.

Other parameters: ``?max_new_tokens=1024`` (the reply cap of a request that names no
``max_tokens``), ``?device=cpu|cuda``, ``?max_batch=8``, ``?batch_wait_ms=5``, ``?dtype=bfloat16``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgm.gateway import CallTimeout, ChatRequest, ChatResult, ModelError, Scope, spec_params
from hgm.gateway.litellm_backend import CHARS_PER_TOKEN, Price, price_from_params
from hgm.gateway.toolcalls import parse_tool_calls

DEFAULT_MAX_NEW_TOKENS = 1024


@dataclass(frozen=True)
class GpuHourPrice:
    """A self-hosted model priced by the time its device spends on the calls."""

    usd_per_hour: float

    def __post_init__(self) -> None:
        if self.usd_per_hour < 0:
            raise ValueError("usd_per_gpu_hour must be >= 0")


@dataclass
class _Job:
    request: ChatRequest
    future: Future
    prompt_ids: list[int]


def _import_stack() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise ImportError(
            "the hf: model backend needs torch and transformers: install torch (its CPU build on a "
            "machine without a GPU), then pip install 'hgm[hf]'"
        ) from None
    return torch, transformers


class HFBackend:
    """A transformers model answering chat completions (module docstring)."""

    def __init__(
        self,
        model: str,
        *,
        price: Price | GpuHourPrice | None = None,
        device: str | None = None,
        max_batch: int = 8,
        batch_wait_ms: float = 5.0,
        dtype: str | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        timeout_s: float = 300.0,
    ) -> None:
        torch, transformers = _import_stack()
        self._torch = torch
        self.model_id, self.name = model, f"hf:{model}"
        self.price, self.timeout_s, self.max_new_tokens = price, timeout_s, max(1, int(max_new_tokens))
        self.max_batch, self.batch_wait_s = max(1, int(max_batch)), max(0.0, batch_wait_ms) / 1000
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        transformers.utils.logging.disable_progress_bar()  # no bar in the middle of a run's display
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(model)
            kwargs = {"dtype": getattr(torch, dtype)} if dtype else {}
            self.model = transformers.AutoModelForCausalLM.from_pretrained(model, **kwargs)
        except (OSError, ValueError) as e:
            raise ModelError(f"hf:{model}: cannot load the model or its tokenizer: {e}") from e
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(f"hf:{model}: the tokenizer has no chat template")
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # how many generate() calls ran; more calls than batches = batching

    @classmethod
    def from_spec(cls, spec: str) -> HFBackend:
        model, _, query = spec.removeprefix("hf:").partition("?")
        if not model:
            raise ValueError("hf: needs a model: hf:/path/to/folder or hf:<hub id>")
        params = spec_params(query, keep_text=("device", "dtype"))
        price: Price | GpuHourPrice | None = price_from_params(params)
        if "usd_per_gpu_hour" in params:
            if price is not None:
                raise ValueError("give a price per token or per GPU hour, not both")
            price = GpuHourPrice(float(params.pop("usd_per_gpu_hour")))
        known = {"device", "max_batch", "batch_wait_ms", "dtype", "max_new_tokens", "timeout"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"hf: does not know the parameter(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))}")
        if Path(model).expanduser().exists():
            model = str(Path(model).expanduser().resolve())
        return cls(model, price=price, timeout_s=float(params.pop("timeout", 300.0)), **params)

    # --- prices (the same seams as the litellm backend) -------------------------------

    def priced(self, price: Price) -> HFBackend:
        other = copy.copy(self)
        other.price = price
        return other

    def known_price(self) -> Price | GpuHourPrice | None:
        return self.price

    def max_cost_usd(self, request: ChatRequest) -> float | None:
        """Worst case of one call: its token cap at the token price, or its whole time limit
        on the device at the hourly price."""
        if self.price is None:
            return None
        if isinstance(self.price, GpuHourPrice):
            return self.timeout_s * self.price.usd_per_hour / 3600
        text = json.dumps([request.messages, request.tools], default=str)
        cap = _cap(request, self.max_new_tokens)
        return self.price.cost(math.ceil(len(text) / CHARS_PER_TOKEN), cap)

    # --- calls --------------------------------------------------------------------------

    def complete(self, request: ChatRequest, scope: Scope, *, timeout_s: float | None = None) -> ChatResult:
        try:
            prompt = self._render(request)
        except Exception as e:  # the template refused these messages: the caller's request
            raise ModelError(f"{self.name}: the chat template cannot render this request: {e}") from e
        job = _Job(request, Future(), self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        self._ensure_worker()
        self._queue.put(job)
        limit = self.timeout_s if timeout_s is None else min(self.timeout_s, timeout_s)
        try:
            return job.future.result(timeout=max(0.01, limit))
        except FutureTimeout:
            job.future.cancel()  # still queued: it is dropped; generating: its batch finishes
            raise CallTimeout(f"{self.name} did not answer within {limit:.0f} s") from None

    def _render(self, request: ChatRequest) -> str:
        messages = [_template_message(m) for m in request.messages]
        return self.tokenizer.apply_chat_template(
            messages, tools=request.tools or None, add_generation_prompt=True, tokenize=False
        )

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name=f"{self.name} generate", daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self._run_batch(batch)

    def _next_batch(self) -> list[_Job]:
        """The first queued job, and those with the same sampling settings that arrive within
        ``batch_wait_s`` (up to ``max_batch``); others wait for the next batch."""
        first = self._queue.get()
        batch, others = [first], []
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.max_batch:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            (batch if _sampling(job.request) == _sampling(first.request) else others).append(job)
        for job in others:
            self._queue.put(job)
        return [job for job in batch if job.future.set_running_or_notify_cancel()]

    def _run_batch(self, batch: list[_Job]) -> None:
        start = time.monotonic()
        try:
            rows = self._generate(batch)
        except Exception as e:  # out of memory, a template the model cannot follow, ...
            for job in batch:
                job.future.set_exception(ModelError(f"{self.name}: generation failed: {type(e).__name__}: {e}"))
            return
        seconds = time.monotonic() - start
        work = sum(len(job.prompt_ids) + len(ids) for job, (ids, _) in zip(batch, rows, strict=True)) or 1
        for job, (ids, hit_limit) in zip(batch, rows, strict=True):
            share = (len(job.prompt_ids) + len(ids)) / work
            job.future.set_result(self._result(job, ids, hit_limit, seconds * share))

    def _generate(self, batch: list[_Job]) -> list[tuple[list[int], bool]]:
        torch, first = self._torch, batch[0].request
        longest = max(len(job.prompt_ids) for job in batch)
        pad = self.tokenizer.pad_token_id
        ids = [[pad] * (longest - len(j.prompt_ids)) + j.prompt_ids for j in batch]
        mask = [[0] * (longest - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in batch]
        caps = [_cap(job.request, self.max_new_tokens) for job in batch]
        temperature, top_p = _sampling(first)
        kwargs: dict[str, Any] = {"do_sample": temperature > 0}
        if temperature > 0:
            kwargs.update(temperature=temperature, top_p=top_p)
        with torch.no_grad():
            out = self.model.generate(
                input_ids=torch.tensor(ids, device=self.device),
                attention_mask=torch.tensor(mask, device=self.device),
                max_new_tokens=max(caps), pad_token_id=pad, **kwargs,
            )
        self.batches += 1
        eos = _eos_ids(self.tokenizer, self.model)
        rows = []
        for row, cap in zip(out[:, longest:].tolist(), caps, strict=True):
            end = next((i for i, t in enumerate(row) if t in eos), None)
            kept = row[: end if end is not None else len(row)][:cap]
            rows.append((kept, end is None and len(kept) >= cap))
        return rows

    def _result(self, job: _Job, ids: list[int], hit_limit: bool, seconds: float) -> ChatResult:
        ids, text, stopped = _cut_at_stop(self.tokenizer, ids, job.request.extra.get("stop"))
        parsed = parse_tool_calls(text) if job.request.tools else None
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "length" if hit_limit and not stopped else "stop"
        if parsed is not None and parsed.tool_calls:
            message = {"role": "assistant", "content": parsed.content or None, "tool_calls": parsed.tool_calls}
            finish = "tool_calls"
        elif parsed is not None and parsed.error:
            message["content"] = f"{text}\n\n[hgm: {parsed.error}]"
        prompt, completion = len(job.prompt_ids), len(ids)
        if isinstance(self.price, GpuHourPrice):
            cost = seconds * self.price.usd_per_hour / 3600
        else:
            cost = self.price.cost(prompt, completion) if self.price else 0.0
        return ChatResult(message, finish, prompt, completion, cost, self.name)


def _template_message(message: dict) -> dict:
    """An OpenAI message as chat templates expect it: tool-call arguments as objects."""
    calls = message.get("tool_calls")
    if not calls:
        return message
    converted = []
    for call in calls:
        fn = dict(call.get("function") or {})
        if isinstance(fn.get("arguments"), str):
            # Arguments that are not JSON stay text: the template shows what the model wrote.
            with contextlib.suppress(json.JSONDecodeError):
                fn["arguments"] = json.loads(fn["arguments"])
        converted.append({**call, "function": fn})
    return {**message, "tool_calls": converted}


def _sampling(request: ChatRequest) -> tuple[float, float]:
    temperature = request.temperature if request.temperature is not None else 1.0
    top_p = request.extra.get("top_p", 1.0)
    return float(temperature), float(top_p if isinstance(top_p, int | float) else 1.0)


def _cap(request: ChatRequest, default: int) -> int:
    cap = request.max_tokens or request.extra.get("max_completion_tokens")
    return cap if isinstance(cap, int) and cap > 0 else default


def _eos_ids(tokenizer: Any, model: Any) -> set[int]:
    found = {tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)}
    ids: set[int] = set()
    for value in found:
        ids.update(value if isinstance(value, list) else [value] if value is not None else [])
    return ids


def _cut_at_stop(tokenizer: Any, ids: list[int], stop: Any) -> tuple[list[int], str, bool]:
    """The reply's counted ids and text, cut at the first stop string (the text without it, as
    OpenAI returns it; the ids up to the token that completed it, since those were generated),
    and whether a stop string was met."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str) and s]
    hits = [text.index(s) for s in stops if s in text]
    if not hits:
        return ids, text, False
    for n in range(1, len(ids) + 1):
        if any(s in tokenizer.decode(ids[:n], skip_special_tokens=True) for s in stops):
            return ids[:n], text[: min(hits)], True
    return ids, text[: min(hits)], True
