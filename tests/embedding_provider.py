"""A real OpenAI-compatible embeddings server on 127.0.0.1, for litellm embedder tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def serve_embeddings() -> Iterator[dict]:
    """An OpenAI-compatible /v1/embeddings server: ``state["base"]`` is its base URL,
    ``state["requests"]`` what it got, ``state["status"]`` sets its answer. Each text's vector
    is [len(text), 1, 0]; usage is 7 tokens per text."""
    state: dict = {"requests": [], "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            state["requests"].append((self.path, body))
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
                    for i, t in enumerate(inputs)]
            reply = {"object": "list", "data": data[::-1], "model": body["model"],
                     "usage": {"prompt_tokens": 7 * len(inputs), "total_tokens": 7 * len(inputs)}}
            if state["status"] != 200:
                reply = {"error": {"message": "overloaded", "type": "server_error"}}
            raw = json.dumps(reply).encode()
            self.send_response(state["status"])
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["base"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
