"""Live sync across processes: two `uvicorn api:app` servers sharing one database (a SQLite file, then a fresh
PostgreSQL schema). A tab on either server gets every reply and the deletion, exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import (
    LiveServer,
    close_code,
    login,
    recv_json,
    recv_until,
    scratch_schema,
    server_env,
    start,
    ws_connect,
)
from tests.conftest import PG_ADMIN_URL

ANSWER = "我做过三年 React 开发，负责组件库、性能优化和 SSR 改造，也带过两名新人。"
QUIET_S = 1.6  # three watcher rounds: long enough for a duplicate to show up


@dataclass
class TwoServers:
    first: LiveServer
    second: LiveServer
    database_url: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_servers(request, tmp_path_factory, llm_server) -> Iterator[TwoServers]:
    """Two uvicorn processes on one database, started one after the other (the first migrates it)."""
    tmp = tmp_path_factory.mktemp(f"two-{request.param}")
    with (scratch_schema(request.getfixturevalue("pg_admin"), PG_ADMIN_URL) if request.param == "postgres"
          else nullcontext(f"sqlite:///{tmp / 'shared.db'}")) as database_url:
        env = server_env(tmp, llm_server.base_url, DATABASE_URL=database_url)
        servers = []
        try:
            for name in ("one", "two"):
                (tmp / name).mkdir()
                servers.append(LiveServer(tmp / name, env).start())
            yield TwoServers(servers[0], servers[1], database_url)
        finally:
            for server in servers:
                server.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


def message(content: str = ANSWER, cmid: str | None = None) -> str:
    return json.dumps({"type": "message", "content": content, "client_message_id": cmid or str(uuid.uuid4())})


async def frames_within(ws, seconds: float) -> list[dict]:
    """Every frame that arrives in the next `seconds` (expected: none)."""
    frames: list[dict] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return frames


async def connect(server: LiveServer, sid: str):
    ws = await ws_connect(server, sid, token=server.token())
    assert (await recv_json(ws))["type"] == "state"
    return ws


def test_a_reply_reaches_tabs_on_both_servers_exactly_once(two_servers, fake_llm):
    fake_llm.chunk_size = 2
    one, two = two_servers.first, two_servers.second
    sid = one.start_session()

    async def scenario():
        a, a_twin, b = await connect(one, sid), await connect(one, sid), await connect(two, sid)
        try:
            await a.send(message(cmid="cross-1"))
            sent, streamed = await recv_until(a, "message")
            twin, twin_before = await recv_until(a_twin, "message")
            remote, remote_before = await recv_until(b, "message", timeout=10)
            quiet = await asyncio.gather(*(frames_within(ws, QUIET_S) for ws in (a, a_twin, b)))
            await b.send(message("我主要用 React Query 管理服务端状态。", cmid="cross-2"))  # and back again
            back_remote, _ = await recv_until(a, "message", timeout=10)
            back_sent, _ = await recv_until(b, "message")
            return sent, streamed, twin, twin_before, remote, remote_before, quiet, back_remote, back_sent
        finally:
            for ws in (a, a_twin, b):
                await ws.close()

    sent, streamed, twin, twin_before, remote, remote_before, quiet, back_remote, back_sent = run(scenario())
    tokens = [f["content"] for f in streamed if f["type"] == "token"]
    assert len(tokens) >= 2 and {f["type"] for f in streamed} <= {"thinking", "token"}  # thinking: sender only
    assert sent["message"]["content"] == "".join(tokens)  # the whole stream came before the final message
    assert twin == sent and twin_before == []
    assert remote_before == []  # the other server's tab gets the final message, not the stream
    assert remote["message"] == sent["message"] and remote["user_message"] == sent["user_message"]
    assert remote["replayed"] is False and remote["client_message_id"] == "cross-1"
    assert (remote["interview_stage"], remote["is_complete"]) == (sent["interview_stage"], sent["is_complete"])
    assert quiet == [[], [], []]  # nothing sent twice
    assert back_remote["message"] == back_sent["message"] and back_remote["user_message"]["content"].startswith(
        "我主要用 React Query")
    assert back_remote["message"]["id"] > sent["message"]["id"]


def test_ending_through_rest_on_one_server_reaches_the_other(two_servers):
    one, two = two_servers.first, two_servers.second
    sid = one.start_session()

    async def scenario():
        ws = await connect(one, sid)
        try:
            with two.http() as http:
                ended = await asyncio.to_thread(http.post, f"/api/v1/chat/sessions/{sid}/end", headers=two.headers())
            assert ended.status_code == 200, ended.text
            frame, before = await recv_until(ws, "message", timeout=10)
            return ended.json(), frame, before, await frames_within(ws, QUIET_S)
        finally:
            await ws.close()

    ended, frame, before, quiet = run(scenario())
    assert before == [] and quiet == []
    assert frame["message"] == ended["message"] and frame["user_message"] is None
    assert frame["is_complete"] is True and frame["interview_stage"] == "completed" and frame["replayed"] is False


def test_deleting_on_one_server_closes_the_tabs_on_the_other(two_servers):
    one, two = two_servers.first, two_servers.second
    sid = one.start_session()

    async def scenario():
        a, b, b_twin = await connect(one, sid), await connect(two, sid), await connect(two, sid)
        with one.http() as http:
            deleted = await asyncio.to_thread(http.delete, f"/api/v1/chat/sessions/{sid}", headers=one.headers())
        assert deleted.status_code == 200
        started = time.monotonic()
        remote = await asyncio.gather(recv_json(b, 10), recv_json(b_twin, 10))
        waited = time.monotonic() - started
        return [await recv_json(a)], remote, waited, [await close_code(ws) for ws in (a, b, b_twin)]

    local, remote, waited, closes = run(scenario())
    assert local == remote[:1] == remote[1:] == [{"type": "session_deleted", "session_id": sid}]
    assert waited < 3  # one or two watcher rounds
    assert closes == [(1000, "session deleted")] * 3  # close_code also proves no second frame came first


def test_incomplete_replies_are_never_broadcast(two_servers):
    """A reply stored as incomplete (cut mid-stream) stays out of the live view; the next complete one goes out."""
    from core import sessions
    from core.db import dispose_engines, get_engine, session_scope

    one = two_servers.first
    sid = one.start_session()

    def store(status: str, content: str) -> None:
        with session_scope(get_engine(two_servers.database_url)) as db:
            session = sessions.get_session(db=db, owner="candidate", session_id=sid)
            sessions.add_message(db=db, session=session, role="assistant", content=content, status=status)
            db.commit()

    async def scenario():
        ws = await connect(one, sid)
        try:
            await asyncio.to_thread(store, "incomplete", "半截回复……")
            cut = await frames_within(ws, QUIET_S)
            await asyncio.to_thread(store, "complete", "完整的回复。")
            whole, _ = await recv_until(ws, "message", timeout=10)
            return cut, whole
        finally:
            await ws.close()
            dispose_engines()

    cut, whole = run(scenario())
    assert cut == []
    assert whole["message"]["content"] == "完整的回复。" and whole["message"]["status"] == "complete"
    assert whole["user_message"] is None and whole["replayed"] is False


def test_idle_connections_cost_one_query_per_round(app_env, count_statements):
    """40 idle sockets on 20 sessions: each round reads every session's row in one statement, no message query."""
    from api import app
    from api.ws.hub import WATCH_INTERVAL_S
    from core.db import get_engine

    with TestClient(app) as client:
        headers = login(client)
        token = headers["Authorization"].split()[1]
        sids = [start(client, headers)["session_id"] for _ in range(20)]
        sockets = [client.websocket_connect(f"/api/v1/chat/ws/{sid}?token={token}") for sid in sids * 2]
        opened = [ws.__enter__() for ws in sockets]
        try:
            for ws in opened:
                assert ws.receive_json()["type"] == "state"
            time.sleep(1.5 * WATCH_INTERVAL_S)  # the first round checks every session once
            with count_statements(get_engine()) as counter:
                time.sleep(6 * WATCH_INTERVAL_S)
        finally:
            for ws in sockets:
                ws.__exit__(None, None, None)
    rounds = [s for s in counter.statements if "FROM interview_session" in s]
    assert 4 <= len(rounds) <= 8 and len(rounds) == len(counter.statements)
    assert all(s.count("?") == 20 for s in rounds)  # one IN list of the 20 watched sessions


@pytest.mark.postgres
def test_on_postgresql_a_reply_wakes_the_other_worker_at_once(tmp_path, pg_admin, pg_url):
    """A turn committed on worker A sends NOTIFY with the session id, and worker B pushes the reply to its socket
    then, not at its next poll: B's fallback poll is a minute here, far beyond the test's wait."""
    import psycopg

    env = server_env(tmp_path, None, DATABASE_URL=pg_url, LIVE_SYNC_FALLBACK_POLL_S="60")
    servers = []
    listener = psycopg.connect(pg_admin.url.set(drivername="postgresql").render_as_string(hide_password=False),
                               autocommit=True)
    try:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            servers.append(LiveServer(tmp_path / name, env).start())
        one, two = servers
        sid = one.start_session()
        listener.execute("LISTEN zhimian_session")

        async def scenario():
            a, b = await connect(one, sid), await connect(two, sid)
            try:
                await asyncio.sleep(1.0)  # B's watcher has started listening (it reads once when it does)
                await a.send(message(cmid="notify-1"))
                sent, _ = await recv_until(a, "message")
                remote, _ = await recv_until(b, "message", timeout=15)
                return sent, remote
            finally:
                await a.close()
                await b.close()

        sent, remote = run(scenario())
        assert remote["message"] == sent["message"] and remote["client_message_id"] == "notify-1"
        notified = set()  # the channel is the database's: other tests' sessions may be named too
        for note in listener.notifies(timeout=5):
            notified.add(note.payload)
            if sid in notified:
                break
        assert sid in notified
    finally:
        listener.close()
        for server in servers:
            server.stop()
