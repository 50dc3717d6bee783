"""Local model benchmark: the ``hf:`` backend against calling ``model.generate`` directly.

A tiny random-weight chat model is built in a temporary folder (hgm.testing_models). The same
prompt is generated ``--calls`` times, greedy, up to ``--new-tokens`` tokens: once through
``HFBackend.complete`` (chat template, queue, generation thread, tool-call parsing, token
counting) and once with ``model.generate`` on the already tokenized prompt. Greedy decoding
makes both produce the same tokens (checked), so the difference is the backend's own cost. The gateway's HTTP layer is not included
(benchmarks/loop.py and the gateway tests cover it).

JSON keys (``--json``): ``calls``, ``new_tokens`` (tokens each call made), ``backend_tokens_per_s``,
``direct_tokens_per_s``, ``backend_ms_per_call``, ``direct_ms_per_call``,
``overhead_ms_per_call`` (backend minus direct, median) and ``overhead_ratio`` (backend median
over direct median).

    python benchmarks/models.py [--calls 20] [--new-tokens 32] [--hidden 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from hgm.gateway import ChatRequest, Scope
from hgm.gateway.hf_backend import HFBackend
from hgm.testing_models import build_tiny_chat_model

PROMPT = [{"role": "user", "content": "Fix the failing test in the workspace, then call finish."}]


def measure(calls: int, new_tokens: int, hidden: int) -> dict:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_chat_model(Path(tmp) / "model", hidden_size=hidden)
        backend = HFBackend(str(folder), device="cpu", max_batch=1)
        model, tokenizer = backend.model, backend.tokenizer
        request = ChatRequest(model="x", messages=PROMPT, max_tokens=new_tokens, temperature=0)
        text = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, tokenize=False)
        ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])

        made: dict[str, int] = {}

        def direct() -> None:
            with torch.no_grad():
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                     do_sample=False, pad_token_id=tokenizer.pad_token_id)  # fmt: skip
            row = out[0, ids.shape[1]:].tolist()
            made["direct"] = next((i for i, t in enumerate(row) if t == tokenizer.eos_token_id), len(row))

        def through_backend() -> None:
            made["backend"] = backend.complete(request, Scope("other")).completion_tokens

        direct(), through_backend()  # warm-up
        if made["direct"] != made["backend"]:
            raise SystemExit(f"the two paths made different replies: {made}")
        direct_ms, backend_ms = [], []
        for _ in range(calls):  # interleaved, so drift in the machine's load hits both alike
            for fn, out in ((direct, direct_ms), (through_backend, backend_ms)):
                start = time.perf_counter()
                fn()
                out.append((time.perf_counter() - start) * 1000)
    d, b, tokens = statistics.median(direct_ms), statistics.median(backend_ms), made["backend"]
    return {
        "calls": calls,
        "new_tokens": tokens,
        "backend_tokens_per_s": round(tokens / (b / 1000), 1),
        "direct_tokens_per_s": round(tokens / (d / 1000), 1),
        "backend_ms_per_call": round(b, 2),
        "direct_ms_per_call": round(d, 2),
        "overhead_ms_per_call": round(b - d, 2),
        "overhead_ratio": round(b / d, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64, help="hidden size of the tiny model")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.calls, args.new_tokens, args.hidden)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>22}  {value}")


if __name__ == "__main__":
    main()
