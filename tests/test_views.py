"""The views' data and terminal renderings that the CLI tests do not reach: the live display."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from hgm.display import LiveDisplay
from hgm.loop import Progress
from hgm.testing import build_stats

LAST = "node 1 on t-alpha: fail ([truncated: file has 300 lines; only the first 100 shown])"


def _live(evals: str, terminal: bool = True) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=200, color_system=None)
    with LiveDisplay(console, min_evals=5) as display:
        display(Progress(stats=build_stats("0>1", evals={0: evals}), workers=2, last=LAST, waiting="[x] y"))
    return out.getvalue()


def test_live_display_calls_a_node_best_only_once_it_has_the_evaluations_the_rule_needs():
    early = _live("ppp")
    assert "none yet: node 0 has 3 of the 5 evaluations needed" in early
    assert "node 0: 3/3" not in early
    assert "node 0: 5/5, belief" in _live("ppppp")


def test_live_display_prints_run_text_verbatim_on_a_terminal_and_in_a_log():
    for terminal in (True, False):
        out = _live("ppp", terminal)
        assert LAST in out and "[x] y" in out, out


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"model": "scripted:demo"}, "scripted"),
        ({"model": "openai/gpt-5-mini"}, "litellm's price table"),
        ({"model": "openai/x", "input_cost_per_1m": 0.2, "output_cost_per_1m": 0.8}, "$0.2 in / $0.8 out per million tokens (config)"),
        ({"model": "hf:/m?usd_per_gpu_hour=2.5"}, "$2.5 per GPU hour"),
        ({"model": "hosted_vllm/m?input_cost_per_1m=1&output_cost_per_1m=3"}, "$1 in / $3 out per million tokens (model string)"),
        ({"model": "ollama/qwen3", "allow_free": True}, "free"),
        ({"model": "vllm:org/m"}, "no price"),
    ],
)
def test_the_pricing_a_run_used_is_said_in_words(config, expected):
    from hgm.views import pricing

    assert expected in pricing(config)
