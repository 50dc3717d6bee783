"""Run one skill function inside a sandbox (standard library only; copied in by hgm).

Reads ``$HGM_CALL/call.json`` (``{"module", "function", "arguments"}``), imports the module
from ``$HGM_SKILL``, calls the function in ``$HGM_WORKSPACE`` (when mounted) and writes one
line of JSON to stdout: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.
Everything the skill prints, or its subprocesses write, goes to stderr.
"""

import importlib.util
import json
import os
import sys
import traceback


def main() -> int:
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        answer = {"ok": True, "result": call()}
        text = json.dumps(answer)
    except Exception as e:
        traceback.print_exc()
        text = json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"})
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    return 0


def call() -> object:
    with open(os.path.join(os.environ["HGM_CALL"], "call.json"), encoding="utf-8") as f:
        request = json.load(f)
    sys.path.insert(0, os.environ["HGM_SKILL"])
    sys.dont_write_bytecode = True  # the skill folder is read-only
    if os.environ.get("HGM_WORKSPACE"):
        os.chdir(os.environ["HGM_WORKSPACE"])
    # Loaded from its file, so a skill module named like a standard one (json.py) is still its own.
    path = os.path.join(os.environ["HGM_SKILL"], request["module"] + ".py")
    spec = importlib.util.spec_from_file_location(request["module"], path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[request["module"]] = module  # its tests and siblings import it by this name
    spec.loader.exec_module(module)
    return getattr(module, request["function"])(**request["arguments"])


if __name__ == "__main__":
    sys.exit(main())
