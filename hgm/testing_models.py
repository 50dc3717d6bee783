"""A tiny local chat model for tests and benchmarks of the ``hf:`` backend, built offline.

:func:`build_tiny_chat_model` writes a one-layer Llama with random weights and a byte-level
BPE tokenizer trained on a few lines (with the ``tokenizers`` library) into a folder that
``transformers`` and ``hf:FOLDER`` load like any checkpoint. Its chat template renders tools
Hermes-style (``<tool_call>{...}</tool_call>``). The replies are random text: it exercises the
backend's real code paths, not a model's quality. Needs torch and transformers.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% if tools %}<|system|>You may call these tools: {{ tools | tojson }}<|end|>{% endif %}"
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] or '' }}"
    "{% for c in m.get('tool_calls') or [] %}<tool_call>{{ c['function'] | tojson }}</tool_call>{% endfor %}"
    "<|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "Run the tests and fix the failing function in the workspace.",
    '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>',
    "The quick brown fox jumps over the lazy dog. import json, os, sys; print('ok')",
]


def build_tiny_chat_model(folder: Path, *, hidden_size: int = 32, layers: int = 1, seed: int = 0) -> Path:
    """Write the model and tokenizer into ``folder`` (made if absent); returns it."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    transformers.utils.logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20, trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    config = transformers.LlamaConfig(
        vocab_size=len(fast), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
        max_position_embeddings=65536, bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(seed)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder
