"""Run the agent on one task.

    python3 run_agent.py --workspace DIR --task-file FILE --trajectory FILE [--max-steps 30]
                         [--model NAME]

The model endpoint is read from HGM_GATEWAY_URL (e.g. http://127.0.0.1:8765/v1), the bearer
token from HGM_TOKEN and the model name from --model or HGM_MODEL. Exit status: 0 when the
agent called finish, 1 when it stopped for any other reason (the trajectory says which).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

# Importable from any working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent.llm import LLMClient  # noqa: E402
from agent.loop import run_agent  # noqa: E402
from agent.skill_search import EmbeddingClient  # noqa: E402
from agent.tools import Tools  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the coding agent on one task.")
    parser.add_argument("--workspace", required=True, type=Path, help="directory to work in")
    parser.add_argument("--task-file", required=True, type=Path, help="file holding the task")
    parser.add_argument("--trajectory", required=True, type=Path, help="where to write JSON")
    parser.add_argument("--max-steps", type=int, default=30, help="most model calls (30)")
    parser.add_argument("--model", default=os.environ.get("HGM_MODEL", "default"))
    args = parser.parse_args(argv)

    if not args.workspace.is_dir():
        parser.error(f"workspace {args.workspace} is not a directory")
    task = args.task_file.read_text(encoding="utf-8")
    base_url, token = os.environ.get("HGM_GATEWAY_URL", ""), os.environ.get("HGM_TOKEN", "")
    llm = LLMClient(base_url=base_url, token=token, model=args.model)
    # Skill search ranks by the gateway's embeddings, or lexically when it has none.
    embeddings = EmbeddingClient(base_url, token) if base_url else None
    # A harness that stops us with SIGTERM still gets the trajectory written.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    trajectory = run_agent(
        task, llm, Tools(args.workspace, embeddings=embeddings), args.max_steps, args.trajectory
    )
    print(f"{trajectory['finish_reason']} after {trajectory['steps']} steps", file=sys.stderr)
    return 0 if trajectory["finish_reason"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
