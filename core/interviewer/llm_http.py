"""The pooled HTTP client LiteLLM sends our calls through (litellm.client_session); imported only with litellm.

One thing differs from LiteLLM's default sync client: a streamed HTTP/1.1 response closed before its end is first
read to its end, within a short budget, so that its connection goes back to the pool. The OpenAI SDK closes an SSE
response as soon as it sees `data: [DONE]`, before the chunked-encoding terminator behind it is read, and httpcore
then drops the connection (openai/openai-python#3440): every streamed reply paid a new TCP (and TLS) handshake.

The pool keeps httpx's default limits (100 connections, 20 idle). More idle connections cost more than they save:
httpcore's pool bookkeeping walks every connection for each idle one on every request and release, which at 200
concurrent interviews took ~2 s of CPU per 1,200 calls with 256 idle connections allowed (0.3 s with 20).

Streams get two timeouts: the call's own read timeout (time to the first token, which on a CPU model includes
reading the whole prompt) until the first body chunk, then `stream_idle_timeout` (set by core.interviewer.llm
around the call) between chunks, so a model that stalls mid-reply is noticed in seconds. httpcore fixes a body's
read timeout when the body starts, so one watchdog thread per process enforces them: it shuts the socket of a
stream that has waited too long, which wakes the blocked read and tells the model server the client has gone.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpx

# Reading the rest of a closed response stops after this long or this many bytes; the connection is then dropped.
DRAIN_BUDGET_S = 0.1
DRAIN_MAX_BYTES = 64 * 1024
# Seconds allowed between two chunks of a streamed response once its first chunk arrived (None: keep the timeout).
stream_idle_timeout: ContextVar[float | None] = ContextVar("stream_idle_timeout", default=None)


log = logging.getLogger(__name__)
WATCH_EVERY_S = 0.05


class _Watchdog:
    """One daemon thread that expires streams past their deadline; idle (no thread work) while none is watched."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._streams: set[_DrainOnClose] = set()
        self._thread: threading.Thread | None = None

    def watch(self, stream: _DrainOnClose) -> None:
        with self._changed:
            self._streams.add(stream)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="llm-stream-watchdog")
                self._thread.start()
            self._changed.notify()

    def forget(self, stream: _DrainOnClose) -> None:
        with self._changed:
            self._streams.discard(stream)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._streams:
                    self._changed.wait()
                self._changed.wait(WATCH_EVERY_S)
                now = time.monotonic()
                late = [stream for stream in self._streams if stream.deadline < now]
            for stream in late:
                stream.expire()


_watchdog = _Watchdog()


class _DrainOnClose(httpx.SyncByteStream):
    """A response body that, when closed unfinished, first reads what is left (within the drain budget)."""

    def __init__(self, stream: httpx.SyncByteStream, request: httpx.Request, idle_s: float | None = None,
                 drain: bool = True, sock: socket.socket | None = None) -> None:
        self._stream = stream
        self._request = request
        self._idle_s = idle_s
        self._drain_on_close = drain
        self._sock = sock
        self._finished = False
        self.deadline = float("inf")
        self.expired = False

    def expire(self) -> None:
        """Past the deadline: shut the socket (a blocked read returns at once, the server sees the client go)."""
        self.expired = True
        self.deadline = float("inf")
        try:
            if self._sock is not None:
                self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass

    def __iter__(self) -> Iterator[bytes]:
        if self._idle_s is None or self._sock is None:
            yield from self._stream
            self._finished = True
            return
        first_s = (self._request.extensions.get("timeout") or {}).get("read") or self._idle_s
        self.deadline = time.monotonic() + first_s
        waiting = first_s
        _watchdog.watch(self)
        try:
            for chunk in self._stream:
                self.deadline = time.monotonic() + self._idle_s  # from the first token on, the idle timeout
                waiting = self._idle_s
                yield chunk
            self._finished = True
        except httpx.TransportError as exc:
            if self.expired:
                raise httpx.ReadTimeout(f"no data from the model server for {waiting:g} s",
                                        request=self._request) from exc
            raise
        finally:
            _watchdog.forget(self)
        if self.expired and not self._finished:
            raise httpx.ReadTimeout("the model server went quiet", request=self._request)

    def close(self) -> None:
        if not self._finished and self._drain_on_close:
            self._drain()
        self._stream.close()

    def _drain(self) -> None:
        timeouts = self._request.extensions.get("timeout") or {}
        deadline = time.monotonic() + DRAIN_BUDGET_S
        received = 0
        # httpcore takes the read timeout from the request each time a body read starts
        self._request.extensions["timeout"] = {**timeouts, "read": DRAIN_BUDGET_S}
        try:
            for chunk in self._stream:  # resumes reading the body where the SDK stopped
                received += len(chunk)
                if received > DRAIN_MAX_BYTES or time.monotonic() > deadline:
                    return
            self._finished = True
        except Exception:  # a timeout or a broken connection: closing drops it, as it would have anyway
            return
        finally:
            self._request.extensions["timeout"] = timeouts


class PooledClient(httpx.Client):
    """httpx.Client whose streamed HTTP/1.1 responses give their connection back when closed early."""

    def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        response = super().send(request, stream=stream, **kwargs)
        if stream:  # HTTP/2 keeps the connection anyway: only HTTP/1.1 needs draining
            response.stream = _DrainOnClose(response.stream, response.request, stream_idle_timeout.get(),
                                            drain=response.http_version == "HTTP/1.1", sock=_socket_of(response))
        return response


def _socket_of(response: httpx.Response) -> socket.socket | None:
    """The response's TCP socket (httpcore's network_stream extension); None over HTTP/2 or a mock transport."""
    network_stream = response.extensions.get("network_stream")
    try:
        sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    except Exception:  # a transport without the extension
        return None
    return sock if isinstance(sock, socket.socket) else None


def shared_client(*, verify: Any, http2: bool) -> PooledClient:
    """Like LiteLLM's default sync client: same TLS settings, redirects, HTTP/2, proxies and pool limits."""
    return PooledClient(verify=verify, follow_redirects=True, http2=http2)
