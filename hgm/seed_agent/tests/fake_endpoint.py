"""A tiny in-process chat-completions endpoint that answers with canned replies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def tool_call(name: str, arguments: dict | str, call_id: str = "") -> dict:
    """An assistant message that calls one tool."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    function = {"name": name, "arguments": arguments}
    call = {"id": call_id or f"call_{name}", "type": "function", "function": function}
    return {"role": "assistant", "content": "", "tool_calls": [call]}


class HTTPReply:
    """A non-200 answer, e.g. HTTPReply(503) or HTTPReply(402, {"error": {...}})."""

    def __init__(self, status: int, body: dict | None = None, headers: dict | None = None):
        self.status, self.body, self.headers = status, body or {}, headers or {}


class FakeEndpoint:
    """Serves ``replies`` in order on http://127.0.0.1:PORT/v1; records every request body.

    A reply is an assistant message (dict) or an HTTPReply. When the replies run out, the
    endpoint answers with a call to ``finish``. ``embeddings`` answers POST /v1/embeddings:
    a function from the input texts to their vectors, or an HTTPReply; without it, 404.
    Embedding requests are recorded in ``embedding_requests``. Use as a context manager.
    """

    def __init__(self, replies: list, embeddings=None):
        self.replies = list(replies)
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.embedding_requests: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if self.path.endswith("/embeddings"):
                    endpoint.embedding_requests.append(body)
                    return self._embeddings(body)
                endpoint.requests.append(body)
                endpoint.headers.append(dict(self.headers))
                if endpoint.replies:
                    reply = endpoint.replies.pop(0)
                else:
                    reply = tool_call("finish", {"summary": "out of replies"})
                if isinstance(reply, HTTPReply):
                    self._send(reply.status, reply.body, reply.headers)
                else:
                    choice = {"index": 0, "message": reply, "finish_reason": "stop"}
                    usage = {"prompt_tokens": 10, "completion_tokens": 5}
                    body = {"choices": [choice], "usage": usage}
                    self._send(200, body, {})

            def _embeddings(self, body):
                if embeddings is None:
                    return self._send(404, {"error": {"message": "no such route"}}, {})
                if isinstance(embeddings, HTTPReply):
                    return self._send(embeddings.status, embeddings.body, embeddings.headers)
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": vector}
                    for i, vector in enumerate(embeddings(texts))
                ]
                self._send(200, {"object": "list", "data": data, "model": body["model"]}, {})

            def _send(self, status, body, headers):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeEndpoint:
        # A short poll interval keeps shutdown (and so each test) fast.
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
