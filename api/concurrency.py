"""Blocking core work off the event loop: the turn thread pool, a bridge from a turn's events to async code, and
background tasks that outlive the request or socket that started them.

Interview turns call an LLM synchronously: they run in a dedicated pool (one thread per concurrent turn, so one
worker serves many interviews) and stream their deltas back to the event loop in order; deltas that arrive
together share one wake-up of the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

TURN_WORKERS = 256  # threads for blocking LLM turns: one per concurrent interview turn

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_background: set[asyncio.Task] = set()


def turn_executor() -> ThreadPoolExecutor:
    """The pool that runs interview turns (created on first use, replaced after shutdown)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=TURN_WORKERS, thread_name_prefix="turn")
        return _executor


def shutdown_executor() -> None:
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True)  # lets running turns finish and store their replies


async def run_blocking(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run a blocking core call in the turn pool."""
    return await asyncio.get_running_loop().run_in_executor(turn_executor(), partial(fn, **kwargs))


async def iterate_in_thread(make_events: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    """Events of a sync generator run to its end in the turn pool, even if the consumer stops listening."""
    loop = asyncio.get_running_loop()
    pending: deque[tuple[str, Any]] = deque()  # filled by the worker thread, drained in order by the loop
    arrived = asyncio.Event()
    wake_lock = threading.Lock()
    wake_scheduled = False

    def wake() -> None:
        nonlocal wake_scheduled
        with wake_lock:
            wake_scheduled = False
        arrived.set()

    def put(item: tuple[str, Any]) -> None:
        # Events that arrive while the loop has not yet woken up for earlier ones share that wake-up.
        nonlocal wake_scheduled
        with wake_lock:
            pending.append(item)
            if wake_scheduled:
                return
            wake_scheduled = True
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed (server stopping): the turn still completes and is stored
            pass

    def work() -> None:
        try:
            for event in make_events():
                put(("event", event))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(("error", exc))
        finally:
            put(("done", None))

    loop.run_in_executor(turn_executor(), work)
    while True:
        await arrived.wait()
        arrived.clear()
        while pending:
            kind, item = pending.popleft()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item


def in_background(coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
    """A task kept alive until it ends, even after its request or WebSocket closed."""
    task = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task
