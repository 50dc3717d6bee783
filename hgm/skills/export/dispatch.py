"""Run an OpenAI tool call with the exported skills (standard library only).

Written into an ``hgm skills export --format openai`` folder next to ``manifest.json`` and
``skills/``. Give it a tool call as the model returned it, in any of these shapes:

- chat completions: ``{"id": ..., "type": "function", "function": {"name": ..., "arguments": "{...}"}}``
- responses API: ``{"type": "function_call", "call_id": ..., "name": ..., "arguments": "{...}"}``
- plain: ``{"name": ..., "arguments": "{...}" or {...}}``

and it runs the skill's function and answers JSON: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. From Python: ``dispatch(call) -> str``; from a shell:
``python dispatch.py '<call JSON>'`` (or the call on stdin).

The skills' code was written by an LLM: it runs in this process, with this process's rights.
Run the dispatcher in a sandbox of your own (a container, a VM) if that matters to you.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_manifest() -> dict:
    return json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))


def dispatch(call: dict | str) -> str:
    """Run one tool call; the answer is a JSON string (the tool message's content)."""
    try:
        result = run_call(json.loads(call) if isinstance(call, str) else call)
    except Exception as e:  # the model gets the error and may try again
        return json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"})
    try:
        return json.dumps({"ok": True, "result": result})
    except (TypeError, ValueError) as e:
        return json.dumps({"ok": False, "error": f"the result is not JSON: {e}"})


def run_call(call: dict) -> object:
    """Run one tool call and return the function's own result (exceptions propagate)."""
    fn_part = call.get("function") if isinstance(call.get("function"), dict) else call
    name, arguments = fn_part.get("name"), fn_part.get("arguments", "{}")
    tools = load_manifest()["tools"]
    if name not in tools:
        raise LookupError(f"unknown tool {name!r}; known: {', '.join(sorted(tools))}")
    tool = tools[name]
    args = json.loads(arguments) if isinstance(arguments, str) else dict(arguments or {})
    if not isinstance(args, dict):
        raise TypeError("the arguments must be a JSON object")
    kwargs = {}
    for pname, spec in tool["params"].items():
        if pname not in args:
            if spec["required"]:
                raise TypeError(f"missing argument {pname!r}")
            continue
        value = args.pop(pname)
        if value is None and not spec["required"]:
            continue  # strict mode: null stands for "use the default"
        kwargs[pname] = decode(value, spec["decode"])
    if args:
        raise TypeError(f"unknown argument(s): {', '.join(sorted(args))}")
    return _function(tool)(**kwargs)


def decode(value: object, how: object) -> object:
    """Undo strict mode's encodings: a list of {key, value} pairs back into a dict."""
    if how is None or value is None:
        return value
    if "map" in how:
        if not isinstance(value, list) or not all(isinstance(p, dict) and set(p) == {"key", "value"} for p in value):
            raise TypeError("expected a list of {key, value} pairs")
        return {p["key"]: decode(p["value"], how["map"]) for p in value}
    if "list" in how:
        if not isinstance(value, list):
            raise TypeError("expected a list")
        return [decode(v, how["list"]) for v in value]
    for alternative in how["any"]:
        try:
            return decode(value, alternative)
        except TypeError:
            pass
    return value


def _function(tool: dict):
    folder = HERE / "skills" / tool["skill"]
    module_name = tool["module"]
    module = sys.modules.get(f"_skill_{module_name}")
    if module is None:
        sys.path.insert(0, str(folder))  # a skill may import its own sibling modules
        spec = importlib.util.spec_from_file_location(f"_skill_{module_name}", folder / f"{module_name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return getattr(module, tool["function"])


def main(argv: list[str]) -> int:
    text = argv[1] if len(argv) > 1 else sys.stdin.read()
    # Whatever the skill prints (or its subprocesses write) goes to stderr: stdout is the answer.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    answer = dispatch(text)
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write(answer + "\n")
    return 0 if json.loads(answer)["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
