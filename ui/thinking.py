"""The chat's "面试官正在思考… N 秒" indicator: from the moment the answer is stored until the first token."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from core.interviewer import turns

TICK_S = 0.5  # how often the elapsed seconds are redrawn


def _pump(events: Iterator[Any], out: queue.Queue) -> None:
    try:
        for event in events:
            out.put(("event", event))
    except BaseException as exc:  # noqa: BLE001 - handed to the page, which shows it
        out.put(("error", exc))
    else:
        out.put(("done", None))


def reply_pieces(events: Iterator[Any], *, show: Callable[[str], Any], clear: Callable[[], Any],
                 label: Callable[[int], str], finished: list) -> Iterator[str]:
    """The reply's text pieces for st.write_stream, while `show(label(seconds))` keeps the indicator current until
    the first piece (then `clear()`). The turn runs in a worker thread so the page can redraw while the model
    works; the TurnResult goes to `finished`, and a turn's error is raised here, in the page's thread."""
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(events, inbox), daemon=True, name="chat-turn").start()
    started: float | None = None
    while True:
        try:
            kind, value = inbox.get(timeout=TICK_S)
        except queue.Empty:
            if started is not None:
                show(label(int(time.monotonic() - started)))
            continue
        if kind != "event":
            clear()
            if kind == "error":
                raise value
            return
        if isinstance(value, turns.Thinking):
            started = value.started
            show(label(int(time.monotonic() - started)))
        elif isinstance(value, turns.TokenDelta):
            if started is not None:
                started = None
                clear()
            yield value.text
        else:
            finished.append(value)
