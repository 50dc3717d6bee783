"""The agent loop: ask the model, run the tools it calls, feed the results back, repeat."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

from agent.llm import BudgetExhausted, LLMClient, LLMError
from agent.tools import Tools

SYSTEM_PROMPT = (Path(__file__).parent / "system_prompt.md").read_text(encoding="utf-8")
NUDGE = "Continue with the tools. When the task is done, call finish with a short summary."


def run_agent(
    task: str, llm: LLMClient, tools: Tools, max_steps: int, trajectory_path: Path | None
) -> dict:
    """Work on ``task`` until the model calls ``finish`` or ``max_steps`` model calls are made.

    Returns the trajectory, which is also written to ``trajectory_path`` after every step
    and once more at the end, whatever happens.
    """
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": task},
    ]
    traj = {
        "task": task,
        "model": llm.model,
        "workspace": str(tools.workspace),
        "max_steps": max_steps,
        "steps": 0,
        "finish_reason": "running",
        "summary": None,
        "errors": [],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        "tool_calls": [],
        "messages": messages,
    }
    try:
        traj["finish_reason"] = _loop(traj, llm, tools, trajectory_path)
    except BudgetExhausted as e:
        traj["finish_reason"] = "budget_exhausted"
        traj["errors"].append(f"budget exhausted: {e}")
    except LLMError as e:
        traj["finish_reason"] = "llm_error"
        traj["errors"].append(str(e))
    except KeyboardInterrupt:
        traj["finish_reason"] = "interrupted"
        traj["errors"].append("interrupted")
    except Exception:
        traj["finish_reason"] = "agent_error"
        traj["errors"].append(traceback.format_exc())
    finally:
        if trajectory_path is not None:
            write_trajectory(traj, trajectory_path)
    return traj


def _loop(traj: dict, llm: LLMClient, tools: Tools, trajectory_path: Path | None) -> str:
    messages = traj["messages"]
    for step in range(1, traj["max_steps"] + 1):
        traj["steps"] = step
        response = llm.chat(messages, tools.specs())
        for key in traj["usage"]:
            traj["usage"][key] += (response.get("usage") or {}).get(key) or 0
        message = _assistant_message(response["choices"][0].get("message") or {}, step)
        messages.append(message)
        if not message.get("tool_calls"):
            messages.append({"role": "user", "content": NUDGE})
        for call in message.get("tool_calls", []):
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            result = tools.call(name, arguments)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result.output})
            record = {"step": step, "name": name, "arguments": arguments, "ok": result.ok}
            traj["tool_calls"].append({**record, "output": result.output})
            if result.finished:
                traj["summary"] = result.output
                return "finished"
        if trajectory_path is not None:
            write_trajectory(traj, trajectory_path)
    return "step_limit"


def _assistant_message(message: dict, step: int) -> dict:
    """The reply as it goes back into the conversation, with every tool call given an id."""
    out = {"role": "assistant", "content": message.get("content") or ""}
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        arguments = function.get("arguments") or ""
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(
            {
                "id": call.get("id") or f"call_{step}_{i}",
                "type": "function",
                "function": {
                    "name": str(function.get("name", "")),
                    "arguments": arguments,
                },
            }
        )
    if calls:
        out["tool_calls"] = calls
    return out


def write_trajectory(traj: dict, path: Path) -> None:
    """Write atomically, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(traj, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)
