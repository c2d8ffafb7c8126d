"""The event-loop side of a turn, without a server: events from the turn thread, and the session watcher's rounds."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.concurrency import iterate_in_thread
from api.ws import hub as ws_hub
from core import sessions


def collect(make_events, stop_after: int | None = None) -> list:
    async def consume() -> list:
        seen = []
        async for event in iterate_in_thread(make_events):
            seen.append(event)
            if stop_after is not None and len(seen) == stop_after:
                break
            await asyncio.sleep(0.002 if len(seen) % 7 == 0 else 0)  # a slow consumer now and then: events pile up
        return seen

    return asyncio.run(consume())


def test_every_event_arrives_in_order_whether_spaced_or_in_bursts():
    def events():
        for n in range(300):
            if n % 50 == 0:
                time.sleep(0.005)
            yield n

    assert collect(events) == list(range(300))


def test_an_error_in_the_turn_follows_the_events_before_it():
    def events():
        yield "a"
        yield "b"
        raise RuntimeError("model failed")

    seen = []

    async def consume() -> None:
        async for event in iterate_in_thread(events):
            seen.append(event)

    with pytest.raises(RuntimeError, match="model failed"):
        asyncio.run(consume())
    assert seen == ["a", "b"]


def test_the_turn_runs_to_its_end_when_the_consumer_stops_listening():
    finished = threading.Event()

    def events():
        yield from range(5)
        time.sleep(0.05)
        yield from range(5, 10)
        finished.set()

    assert collect(events, stop_after=2) == [0, 1]
    assert finished.wait(5)


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


def test_watcher_leaves_a_session_alone_while_its_local_turn_runs(monkeypatch):
    """No reply read during a local turn (its own broadcast delivers it); once it ends, the next round catches up."""
    reads: list[int] = []
    pulse = sessions.SessionPulse(message_count=3, interview_stage="self_intro", is_complete=False)
    monkeypatch.setattr(ws_hub, "_read_pulses", lambda owners: dict.fromkeys(owners, pulse))
    monkeypatch.setattr(ws_hub, "_read_replies_after", lambda owner, sid, after: reads.append(after) or [])

    async def scenario() -> None:
        hub = ws_hub.SessionHub()
        conn = ws_hub.Connection(FakeSocket(), "alice", "s-1", last_message_id=7)
        hub.add(conn)
        try:
            slot = hub.begin_turn("alice", "s-1")
            await hub.poll_once()
            await asyncio.sleep(0.05)
            assert reads == [] and not hub._catching_up
            hub.end_turn("alice", "s-1", slot)
            await hub.poll_once()
            await asyncio.sleep(0.05)
            assert reads == [7]
            await hub.poll_once()  # the count is unchanged since: nothing more to read
            await asyncio.sleep(0.05)
            assert reads == [7]
        finally:
            hub.remove(conn)
            await hub.stop_watching()

    asyncio.run(scenario())
