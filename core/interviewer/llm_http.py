"""The pooled HTTP client LiteLLM sends our calls through (litellm.client_session); imported only with litellm.

One thing differs from LiteLLM's default sync client: a streamed HTTP/1.1 response closed before its end is first
read to its end, within a short budget, so that its connection goes back to the pool. The OpenAI SDK closes an SSE
response as soon as it sees `data: [DONE]`, before the chunked-encoding terminator behind it is read, and httpcore
then drops the connection (openai/openai-python#3440): every streamed reply paid a new TCP (and TLS) handshake.

The pool keeps httpx's default limits (100 connections, 20 idle). More idle connections cost more than they save:
httpcore's pool bookkeeping walks every connection for each idle one on every request and release, which at 200
concurrent interviews took ~2 s of CPU per 1,200 calls with 256 idle connections allowed (0.3 s with 20).

Streams get two read timeouts: the call's own (time to the first token, which on a CPU model includes reading the
whole prompt) until the first body chunk, then `stream_idle_timeout` (set by core.interviewer.llm around the call)
between chunks, so a model that stalls mid-reply is noticed in seconds, not after the first-token allowance.
"""

from __future__ import annotations

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


class _DrainOnClose(httpx.SyncByteStream):
    """A response body that, when closed unfinished, first reads what is left (within the drain budget)."""

    def __init__(self, stream: httpx.SyncByteStream, request: httpx.Request, idle_s: float | None = None,
                 drain: bool = True) -> None:
        self._stream = stream
        self._request = request
        self._idle_s = idle_s
        self._drain_on_close = drain
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        first = True
        for chunk in self._stream:
            if first and self._idle_s is not None:  # the first token is here: from now on, the idle timeout
                timeouts = self._request.extensions.get("timeout") or {}
                self._request.extensions["timeout"] = {**timeouts, "read": self._idle_s}
            first = False
            yield chunk
        self._finished = True

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
                                            drain=response.http_version == "HTTP/1.1")
        return response


def shared_client(*, verify: Any, http2: bool) -> PooledClient:
    """Like LiteLLM's default sync client: same TLS settings, redirects, HTTP/2, proxies and pool limits."""
    return PooledClient(verify=verify, follow_redirects=True, http2=http2)
