"""A local OpenAI-compatible chat server over real HTTP, with fault injection."""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Responder = Callable[[dict], str]

FAULT_MODES = frozenset({"500", "429", "timeout", "cut", "invalid_json", "no_finish", "stall"})
INVALID_JSON_TEXT = "this is not json {"
DEFAULT_TEXT = "这是模拟回复。"
DEFAULT_JSON_TEXT = '{"ok": true}'
_CLIENT_GONE = (TimeoutError, BrokenPipeError, ConnectionError)


def wants_json(body: dict) -> bool:
    """True if the request has response_format or a system/user message says JSON."""
    if body.get("response_format"):
        return True
    for message in body.get("messages") or []:
        content = message.get("content")
        asks = message.get("role") in ("system", "user") and isinstance(content, str)
        if asks and "json" in content.lower():
            return True
    return False


def suggested_wording(body: dict) -> str | None:
    """The interviewer's draft that a reply prompt carries ("Suggested wording ...: <text>"): what a model that
    follows its instructions would say."""
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str) and "Suggested wording" in content:
            return content.split("Suggested wording", 1)[1].split(": ", 1)[-1].splitlines()[0]
    return None


def default_responder(body: dict) -> str:
    """A small JSON object for JSON requests, a fixed Chinese sentence otherwise."""
    return DEFAULT_JSON_TEXT if wants_json(body) else DEFAULT_TEXT


def _error_body(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind}}


def _usage(body: dict, text: str) -> dict:
    # One token per character: deterministic, and close enough for Chinese text.
    prompt_tokens = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        prompt_tokens += len(content)
    prompt_tokens = max(1, prompt_tokens)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(text),
        "total_tokens": prompt_tokens + len(text),
    }


def _chunk(chunk_id: str, model: str, delta: dict, finish_reason: str | None) -> dict:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _completion_body(body: dict, text: str) -> dict:
    message = {"role": "assistant", "content": text}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "fake-interviewer",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": _usage(body, text),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # benchmarks open hundreds of connections at once
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its idle keep-alive connection is not an error.
        if not isinstance(sys.exc_info()[1], _CLIENT_GONE):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real provider
    disable_nagle_algorithm = True  # else small writes wait ~40 ms for delayed ACKs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": "fake-interviewer", "object": "model", "owned_by": "fake"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_json(404, _error_body(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, _error_body(f"no route {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, _error_body("body is not JSON", "invalid_request"))
            return
        fake = self.server.fake
        fault = fake._take_request(body)
        if fake.latency_s > 0:
            fake._stopped.wait(fake.latency_s)
        try:
            self._answer(fake, body, fault)
        except _CLIENT_GONE:
            self.close_connection = True  # e.g. its timeout fired while we hung

    def _answer(self, fake: FakeLLMServer, body: dict, fault: str | None) -> None:
        if fault == "500":
            self._send_json(500, _error_body("injected server error", "server_error"))
            return
        if fault == "429":
            error = _error_body("injected rate limit", "rate_limit_exceeded")
            self._send_json(429, error, retry_after="0")
            return
        if fault == "timeout":
            left = self._wait_for_client_to_leave(fake, fake.hang_s)
            self.close_connection = True
            if left or fake._stopped.is_set():
                return
        text = INVALID_JSON_TEXT if fault == "invalid_json" else fake.responder(body)
        if body.get("stream"):
            self._send_stream(fake, body, text, fault)
        elif fault == "cut":
            self._abort()
        else:
            self._send_json(200, _completion_body(body, text))

    def _send_json(self, status: int, payload: dict, retry_after: str = "") -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(self, fake: FakeLLMServer, body: dict, text: str, fault: str | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        model = body.get("model") or "fake-interviewer"
        size = max(1, fake.chunk_size)
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        if fault == "cut":  # a couple of chunks, never the whole text
            pieces = pieces[: min(2, len(pieces) - 1)]
        for index, piece in enumerate(pieces):
            delta = {"content": piece}
            if index == 0:
                delta["role"] = "assistant"
            self._write_event(_chunk(chunk_id, model, delta, None))
            if fake.chunk_delay_s:
                time.sleep(fake.chunk_delay_s)
            if fault == "stall" and index == 0:  # the first token, then silence, as a stuck model server
                if self._wait_for_client_to_leave(fake, fake.hang_s):
                    return
        if fault == "cut":
            self._abort()  # no terminating chunk, no finish_reason, no [DONE]
            return
        if fault != "no_finish":
            final = _chunk(chunk_id, model, {}, "stop")
            final["usage"] = _usage(body, text)
            self._write_event(final)
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_event(self, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._write_chunk(b"data: " + data + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _wait_for_client_to_leave(self, fake: FakeLLMServer, limit_s: float) -> bool:
        """Wait up to `limit_s` watching the socket; True (and the moment recorded) if the client closed it."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and not fake._stopped.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    gone = self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    fake._record_close()
                    self.close_connection = True
                    return True
        return False

    def _abort(self) -> None:
        """Drop the connection mid-response, as a crashed upstream or proxy would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeLLMServer:
    """OpenAI-compatible chat completions (JSON and SSE) on 127.0.0.1, in a thread.

    Fault modes for `fail_next`: "500"; "429" (Retry-After: 0); "timeout" (hang
    `hang_s` before answering); "cut" (drop the connection mid-response);
    "invalid_json" (reply "this is not json {"); "no_finish" (a stream that ends
    cleanly with [DONE] but never sends a finish_reason); "stall" (a stream that sends
    its first chunk, then nothing for `hang_s`). While hanging ("timeout", "stall") the
    server watches the connection and records in `closed_early` when the client leaves.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        chunk_size: int = 8,
        hang_s: float = 30.0,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.latency_s = latency_s
        self.chunk_size = chunk_size
        self.hang_s = hang_s
        self.chunk_delay_s = 0.0  # pause after each streamed chunk (a slow model)
        self._defaults = (self.responder, latency_s, chunk_size, hang_s)
        self._lock = threading.Lock()
        self._requests: list[dict] = []
        self._arrivals: list[float] = []
        self._closed_early: list[float] = []
        self._faults: deque[str] = deque()
        self._stopped = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeLLMServer is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[dict]:
        """A snapshot of the JSON bodies received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopped.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopped.set()  # wakes handlers waiting out a latency or a "timeout"
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, mode: str, times: int = 1) -> None:
        """Fail the next `times` requests in `mode`; faults are used in order."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault {mode!r}, expected one of {FAULT_MODES}")
        with self._lock:
            self._faults.extend([mode] * times)

    def reset(self) -> None:
        """Clear faults and requests; restore responder and timings from __init__."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._arrivals.clear()
            self._closed_early.clear()
        self.responder, self.latency_s, self.chunk_size, self.hang_s = self._defaults
        self.chunk_delay_s = 0.0

    @property
    def closed_early(self) -> list[float]:
        """time.monotonic() of each request whose client hung up while the server was still working on it."""
        with self._lock:
            return list(self._closed_early)

    @property
    def arrivals(self) -> list[float]:
        """time.monotonic() of each request's arrival, oldest first."""
        with self._lock:
            return list(self._arrivals)

    def _record_close(self) -> None:
        with self._lock:
            self._closed_early.append(time.monotonic())

    def _take_request(self, body: dict) -> str | None:
        with self._lock:
            self._requests.append(body)
            self._arrivals.append(time.monotonic())
            return self._faults.popleft() if self._faults else None
