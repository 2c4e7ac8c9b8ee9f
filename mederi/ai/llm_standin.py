"""A stand-in language-model server on this machine: the OpenAI chat-completions API, for tests and demos.

It listens on 127.0.0.1 (a real socket), accepts POST /v1/chat/completions with the request shape
of the OpenAI API (model, messages, temperature, response_format; a Bearer key when one is set),
and answers with a chat-completion object. It is not a language model: a classification request
(the system prompt asks for an intent) is answered from `intents` — the exact user text mapped to
(intent, confidence), "unknown" otherwise — and a wording request with the text and a friendly
prefix. A test can make the next answers fail (`fail_next`: an HTTP error, a body that is not JSON,
a reply that is not the JSON asked for, or a delay longer than the client's timeout) and reads the
requests it received (`.requests`). Run by hand: python -m mederi.ai.llm_standin [--port 8765].
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDING_PREFIX = "Hi there! "


class LlmStandIn:
    def __init__(self, intents: dict[str, tuple[str, float]] | None = None, *, api_key: str = "",
                 model: str = "standin-chat", host: str = "127.0.0.1", port: int = 0):
        self.intents = dict(intents or {})
        self.api_key, self.model = api_key, model
        self.requests: list[dict] = []
        self._failures: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.standin = self
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="llm-standin", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LlmStandIn":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def fail_next(self, how: str = "http-500", *, times: int = 1, seconds: float = 0.0) -> None:
        """how: "http-500", "not-json" (the body), "bad-content" (the reply text), "slow" (wait `seconds`),
        "drop-facts" (a wording without the numbers)."""
        with self._lock:
            self._failures += [(how, seconds)] * times

    def _next_failure(self) -> tuple[str, float] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def answer(self, request: dict) -> str:
        system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
        if '"intent"' in system:
            intent, confidence = self.intents.get(user, ("unknown", 0.3))
            language = "Spanish" if intent == "other_language" else "English"
            return json.dumps({"intent": intent, "confidence": confidence, "language": language})
        return WORDING_PREFIX + user

    def completion(self, content: str) -> dict:
        return {"id": f"chatcmpl-standin-{next(self._ids)}", "object": "chat.completion",
                "created": int(time.time()), "model": self.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


class _Handler(BaseHTTPRequestHandler):
    server_version = "llm-standin/1"

    def log_message(self, *args) -> None:  # quiet in tests
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, json.dumps({"error": {"message": message, "type": kind}}).encode())

    def do_POST(self) -> None:  # noqa: N802 (the http.server name)
        standin: LlmStandIn = self.server.standin
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}", "invalid_request_error")
        if standin.api_key and self.headers.get("Authorization") != f"Bearer {standin.api_key}":
            return self._error(401, "Incorrect API key provided.", "invalid_request_error")
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            request["messages"][0]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self._error(400, "The body must be a chat-completions request.", "invalid_request_error")
        standin.requests.append({**request, "authorization": self.headers.get("Authorization", "")})
        failure = standin._next_failure()
        how = failure[0] if failure else ""
        if how == "slow":
            time.sleep(failure[1])
        if how == "http-500":
            return self._error(500, "The server had an error while processing your request.", "server_error")
        if how == "not-json":
            return self._send(200, b"<html>gateway error</html>", "text/html")
        content = standin.answer(request)
        if how == "bad-content":
            content = "I think the patient wants to confirm."
        elif how == "drop-facts":
            content = "Hi there! Your appointment is set."
        self._send(200, json.dumps(standin.completion(content)).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with LlmStandIn(port=args.port) as standin:
        print(f"stand-in chat-completions server at {standin.base_url} (Ctrl-C stops it)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
