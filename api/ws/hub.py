"""Open interview WebSockets of this process, the one running turn per session, and cross-process sync.

Replies and deletions made in this process reach its connections at once (`broadcast`, `close_session`). Those
made by another worker or host reach them through the shared database: while the process has connections, one
watcher task reads every watched session's row in one query, and for a session whose message_count moved, sends
the complete replies its connections do not have yet; a vanished row means deleted. On PostgreSQL a trigger
(migration m009) sends NOTIFY with the session's id on every such commit, from any process; the watcher LISTENs
and reads at once, and polls every LIVE_SYNC_FALLBACK_POLL_S in case a notification was missed. On SQLite (or
with LIVE_SYNC_LISTEN off, or while the listening connection is down) it polls every WATCH_INTERVAL_S.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool

from api.concurrency import in_background
from api.ws.frames import deleted_frame, stored_message_frame
from core import sessions
from core.config import get_settings
from core.db import get_engine, session_scope
from core.interviewer import turns
from core.migrations import SESSION_CHANNEL

log = logging.getLogger("zhimian.api")

BUSY_MESSAGE = "上一条回答仍在处理中，请稍候 / the previous answer is still being processed"
WATCH_INTERVAL_S = 0.5  # how often a process polls the sessions of its open WebSockets (one query for all)
WATCH_MAX_BACKOFF_S = 5.0  # polling interval while the database keeps failing


class Connection:
    """One open WebSocket of a session; sends are serialised so frames never interleave.

    `last_message_id` is the newest interviewer message this client has (read at connect, then every one sent),
    so a reply reaching it both locally and through the database watcher is sent once.
    """

    def __init__(self, websocket: WebSocket, owner: str, session_id: str, last_message_id: int = 0):
        self.websocket, self.owner, self.session_id = websocket, owner, session_id
        self.last_message_id = last_message_id
        self.open = True
        self.deleted = False
        self._send_lock = asyncio.Lock()

    def claim(self, message_id: int) -> bool:
        """True the first time a message newer than what the client has is offered (no await: atomic)."""
        if message_id <= self.last_message_id:
            return False
        self.last_message_id = message_id
        return True

    async def send(self, payload: dict) -> bool:
        """Send a JSON frame; False (and never an exception) once the client is gone."""
        if not self.open:
            return False
        async with self._send_lock:
            try:
                await self.websocket.send_text(json.dumps(payload, ensure_ascii=False))
                return True
            except Exception:  # noqa: BLE001 - any send failure means the peer is gone
                self.open = False
                return False

    async def close(self, code: int = 1000, reason: str = "") -> None:
        async with self._send_lock:
            if self.open:
                self.open = False
                try:
                    await self.websocket.close(code=code, reason=reason)
                except Exception:  # noqa: BLE001
                    pass

    async def end_deleted(self) -> None:
        """`session_deleted`, then close 1000; once, whether the delete was seen locally or by the watcher."""
        if self.deleted:
            return
        self.deleted = True
        await self.send(deleted_frame(self.session_id))
        await self.close(1000, "session deleted")


class SessionHub:
    """Open connections per session, which sessions have a turn running in this process, and the watcher."""

    def __init__(self) -> None:
        self._connections: dict[str, set[Connection]] = {}
        self._running: dict[tuple[str, str], object] = {}  # keyed by owner too: never reveals another's session
        self._seen_counts: dict[str, int] = {}  # message_count at the last delivery check, per watched session
        self._catching_up: set[str] = set()  # sessions whose stored replies are being read and sent
        self._watcher: asyncio.Task | None = None
        self._wake = asyncio.Event()  # set by a NOTIFY about a watched session: read now
        self._listening = False  # a LISTEN connection is up: polling may slow down

    def add(self, conn: Connection) -> None:
        self._connections.setdefault(conn.session_id, set()).add(conn)
        self._seen_counts.pop(conn.session_id, None)  # check once more: a reply may have landed while it connected
        self._ensure_watching()

    def remove(self, conn: Connection) -> None:
        group = self._connections.get(conn.session_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self._connections[conn.session_id]
                self._seen_counts.pop(conn.session_id, None)

    def connections(self, session_id: str) -> list[Connection]:
        return list(self._connections.get(session_id, ()))

    async def broadcast(self, session_id: str, payload: dict) -> None:
        """A `message` frame to each connection that does not have its reply yet (a replay to all of them)."""
        message_id = payload["message"]["id"]
        targets = [conn for conn in self.connections(session_id) if conn.claim(message_id) or payload["replayed"]]
        await asyncio.gather(*(conn.send(payload) for conn in targets))

    async def close_session(self, session_id: str) -> None:
        """The session was deleted: tell every connection, then close it."""
        await asyncio.gather(*(conn.end_deleted() for conn in self.connections(session_id)))

    # -- one turn at a time per session in this process (run_turn also locks across processes) --------------

    def turn_running(self, owner: str, session_id: str) -> bool:
        return (owner, session_id) in self._running

    def begin_turn(self, owner: str, session_id: str) -> object | None:
        """A token for the session's one running turn in this process, or None when a turn is running."""
        key = (owner, session_id)
        if key in self._running:
            return None
        token = self._running[key] = object()
        return token

    def end_turn(self, owner: str, session_id: str, token: object) -> None:
        """Release the turn `token` holds (never a later turn's)."""
        if self._running.get((owner, session_id)) is token:
            del self._running[(owner, session_id)]

    @contextmanager
    def turn(self, owner: str, session_id: str) -> Iterator[None]:
        """The session's turn slot for a block; TurnBusy while another turn of it runs here."""
        token = self.begin_turn(owner, session_id)
        if token is None:
            raise turns.TurnBusy(BUSY_MESSAGE)
        try:
            yield
        finally:
            self.end_turn(owner, session_id, token)

    # -- the watcher: replies and deletions made by other processes ---------------------------------------

    def _ensure_watching(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._watcher
        if task is None or task.done() or task.get_loop() is not loop:
            self._wake = asyncio.Event()  # of this loop (tests run several)
            self._watcher = loop.create_task(self._watch(), name="session-watcher")

    async def stop_watching(self) -> None:
        task, self._watcher = self._watcher, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        """Read while this process has connections, when woken or at the polling interval; ends with the last
        connection (the next one restarts it), the listener with it."""
        delay = WATCH_INTERVAL_S
        conninfo, fallback = _listen_conninfo(), get_settings().LIVE_SYNC_FALLBACK_POLL_S
        listener = asyncio.create_task(self._listen(conninfo), name="session-listener") if conninfo else None
        try:
            while self._connections:
                pause = fallback if self._listening and delay == WATCH_INTERVAL_S else delay
                with suppress(TimeoutError):  # jitter: workers do not poll in lockstep
                    await asyncio.wait_for(self._wake.wait(), pause * random.uniform(0.9, 1.1))
                self._wake.clear()
                try:
                    await self.poll_once()
                    delay = WATCH_INTERVAL_S
                except Exception:  # noqa: BLE001 - a database hiccup must not end live sync
                    log.warning("session watcher: database read failed", exc_info=delay == WATCH_INTERVAL_S)
                    delay = min(delay * 2, WATCH_MAX_BACKOFF_S)
        finally:
            if listener is not None:
                listener.cancel()
                with suppress(asyncio.CancelledError):
                    await listener
            self._listening = False

    async def _listen(self, conninfo: str) -> None:
        """LISTEN on PostgreSQL; a notification about a session watched here wakes the watcher. Reconnects with a
        growing pause while the database is unreachable (the watcher polls at full rate meanwhile)."""
        import psycopg

        pause = WATCH_INTERVAL_S
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {SESSION_CHANNEL}")
                    self._listening, pause = True, WATCH_INTERVAL_S
                    self._wake.set()  # read once: a change may have landed before LISTEN took effect
                    async for note in conn.notifies():
                        if note.payload in self._connections:
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - polling covers the gap; try again
                log.warning("session listener: LISTEN connection failed", exc_info=pause == WATCH_INTERVAL_S)
            self._listening = False
            await asyncio.sleep(pause)
            pause = min(pause * 2, WATCH_MAX_BACKOFF_S)

    async def poll_once(self) -> None:
        """One round: one query for all watched sessions; those that changed are served in the background
        (so a client that stopped reading never holds up the others)."""
        owners = {sid: next(iter(group)).owner for sid, group in self._connections.items() if group}
        if not owners:
            return
        pulses = await run_in_threadpool(_read_pulses, owners)
        for session_id, owner in owners.items():
            pulse = pulses.get(session_id)
            if pulse is None:
                in_background(self.close_session(session_id))
            elif self.turn_running(owner, session_id):
                continue  # its own broadcast follows the turn's tokens; the count is checked after the turn
            elif self._seen_counts.get(session_id) != pulse.message_count and session_id not in self._catching_up:
                self._catching_up.add(session_id)
                in_background(self._send_stored_replies(session_id, owner, pulse))

    async def _send_stored_replies(self, session_id: str, owner: str, pulse: sessions.SessionPulse) -> None:
        """Replies stored since the oldest one this session's connections have, each to those that lack it."""
        try:
            group = self.connections(session_id)
            if not group or self.turn_running(owner, session_id):
                return  # a turn of this process: its own broadcast follows its streamed tokens
            after = min(conn.last_message_id for conn in group)
            stored = await run_in_threadpool(_read_replies_after, owner, session_id, after)
            if self.turn_running(owner, session_id):
                return  # a local turn started meanwhile; check again next round
            if min((conn.last_message_id for conn in self.connections(session_id)), default=after) >= after:
                self._seen_counts[session_id] = pulse.message_count  # else a tab joined meanwhile: read again
            for index, item in enumerate(stored):
                newest = index == len(stored) - 1
                await self.broadcast(session_id, stored_message_frame(item, pulse if newest else None))
        except Exception:  # noqa: BLE001 - retried next round (the count was not recorded)
            log.warning("session watcher: reading replies of %s failed", session_id, exc_info=True)
        finally:
            self._catching_up.discard(session_id)


def _listen_conninfo() -> str | None:
    """libpq URL of the configured PostgreSQL database for LISTEN (None on SQLite or with LIVE_SYNC_LISTEN off)."""
    url = get_engine().url
    if url.get_backend_name() != "postgresql" or not get_settings().LIVE_SYNC_LISTEN:
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _read_pulses(owners: dict[str, str]) -> dict[str, sessions.SessionPulse]:
    with session_scope(get_engine()) as db:
        return sessions.read_pulses(db=db, owners=owners)


def _read_replies_after(owner: str, session_id: str, after_id: int) -> list[sessions.StoredReply]:
    with session_scope(get_engine()) as db:
        return sessions.list_replies_after(db=db, owner=owner, session_id=session_id, after_id=after_id)


hub = SessionHub()
