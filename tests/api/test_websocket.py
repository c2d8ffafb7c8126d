"""The WebSocket protocol against a real uvicorn server (subprocess) and the local fake LLM."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.api.helpers import close_code, recv_json, recv_until, ws_connect

ANSWER = "我做过三年 React 开发，负责组件库、性能优化和 SSR 改造，也带过两名新人。"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def message(content: str = ANSWER, cmid: str | None = None) -> str:
    import json

    return json.dumps({"type": "message", "content": content, "client_message_id": cmid or str(uuid.uuid4())})


def test_state_then_streamed_tokens_then_the_stored_message(live_server, fake_llm):
    fake_llm.chunk_size = 3
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as ws:
            state = await recv_json(ws)
            assert state == {"type": "state", "session_id": sid, "interview_stage": state["interview_stage"],
                             "is_complete": False, "message_count": 1, "status": "started"}
            await ws.send(message(cmid="stream-1"))
            final, before = await recv_until(ws, "message")
            return final, before

    final, before = run(scenario())
    tokens = [f["content"] for f in before if f["type"] == "token"]
    kinds = [f["type"] for f in before]
    assert len(tokens) >= 2 and set(kinds) <= {"thinking", "token"}
    assert kinds[0] == "thinking" and "thinking" not in kinds[kinds.index("token"):]  # until the first token
    reply = final["message"]
    assert reply["role"] == "assistant" and reply["status"] == "complete" and reply["content"] == "".join(tokens)
    assert set(reply) >= {"id", "role", "content", "created_at", "status", "stage"}
    assert final["replayed"] is False and final["is_complete"] is False and final["interview_stage"]
    assert final["user_message"]["client_message_id"] == "stream-1"
    history = live_server.history(sid)
    assert [m["role"] for m in history["messages"]] == ["assistant", "user", "assistant"]
    assert history["messages"][-1]["id"] == reply["id"]


def test_retry_with_the_same_client_message_id_replays_the_reply(live_server, fake_llm):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as ws:
            await recv_json(ws)
            await ws.send(message(cmid="same-id"))
            first, _ = await recv_until(ws, "message")
            await ws.send(message(cmid="same-id"))
            second, _ = await recv_until(ws, "message")
            return first, second

    first, second = run(scenario())
    assert second["replayed"] is True and second["message"]["id"] == first["message"]["id"]
    assert second["message"]["content"] == first["message"]["content"]
    messages = live_server.history(sid)["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant"]
    assert sum(m["client_message_id"] == "same-id" for m in messages) == 1


def test_two_connections_stay_in_sync(live_server, fake_llm):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as tab1, \
                await ws_connect(live_server, sid, token=live_server.token(), how="header") as tab2:
            await recv_json(tab1)
            await recv_json(tab2)
            await tab1.send(message(cmid="sync-1"))
            mine, _ = await recv_until(tab1, "message")
            theirs, theirs_before = await recv_until(tab2, "message")
            return mine, theirs, theirs_before

    mine, theirs, theirs_before = run(scenario())
    assert theirs["message"] == mine["message"] and theirs["user_message"]["client_message_id"] == "sync-1"
    assert theirs_before == []  # the other tab gets the final message, not the sender's stream


def test_deleting_a_session_closes_its_sockets(live_server, fake_llm):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as tab1, \
                await ws_connect(live_server, sid, token=live_server.token(), how="subprotocol") as tab2:
            await recv_json(tab1)
            await recv_json(tab2)
            with live_server.http() as http:
                deleted = await asyncio.to_thread(http.delete, f"/api/v1/chat/sessions/{sid}",
                                                  headers=live_server.headers())
            assert deleted.status_code == 200
            frames = [await recv_json(tab1), await recv_json(tab2)]
            return frames, await close_code(tab1), await close_code(tab2)

    frames, closed1, closed2 = run(scenario())
    assert frames == [{"type": "session_deleted", "session_id": sid}] * 2
    assert closed1[0] == closed2[0] == 1000


def test_a_second_message_while_a_turn_runs_is_busy(live_server, fake_llm):
    fake_llm.latency_s = 1.5
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as tab1, \
                await ws_connect(live_server, sid, token=live_server.token()) as tab2:
            await recv_json(tab1)
            await recv_json(tab2)
            await tab1.send(message(cmid="slow-1"))
            await asyncio.sleep(0.3)
            await tab1.send(message("再补充一点", cmid="slow-2"))
            busy_same_tab = await recv_until(tab1, "error")
            await tab2.send(message("另一个标签页", cmid="slow-3"))
            busy_other_tab, _ = await recv_until(tab2, "error")
            await tab1.send('{"type": "ping"}')
            pong, _ = await recv_until(tab1, "pong")
            final, _ = await recv_until(tab1, "message")
            return busy_same_tab[0], busy_other_tab, pong, final

    busy1, busy2, pong, final = run(scenario())
    for busy, cmid in ((busy1, "slow-2"), (busy2, "slow-3")):
        assert busy["code"] == "busy" and busy["retryable"] is True and busy["client_message_id"] == cmid
    assert pong == {"type": "pong"}
    assert final["user_message"]["client_message_id"] == "slow-1"
    cmids = [m["client_message_id"] for m in live_server.history(sid)["messages"] if m["role"] == "user"]
    assert cmids == ["slow-1"]


@pytest.mark.parametrize("how", ["query", "header", "subprotocol"])
def test_the_three_ways_to_authenticate(live_server, how):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token(), how=how) as ws:
            state = await recv_json(ws)
            return state, ws.subprotocol

    state, subprotocol = run(scenario())
    assert state["type"] == "state" and state["session_id"] == sid
    assert subprotocol == ("bearer" if how == "subprotocol" else None)


@pytest.mark.parametrize("token", [None, "not-a-jwt"])
def test_no_or_bad_token_is_closed_1008(live_server, token):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=token) as ws:
            return await close_code(ws)

    assert run(scenario()) == (1008, "authentication required")


def test_origins_are_checked(live_server):
    sid = live_server.start_session()

    async def scenario(origin):
        async with await ws_connect(live_server, sid, token=live_server.token(), origin=origin) as ws:
            try:
                return (await recv_json(ws))["type"]
            except Exception:  # noqa: BLE001
                return await close_code(ws)

    assert run(scenario("http://evil.example")) == (1008, "origin not allowed")
    assert run(scenario("http://app.example")) == "state"


def test_ping_end_and_bad_frames(live_server):
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as ws:
            await recv_json(ws)
            frames = []
            for raw in ('{"type": "ping"}', "not json", '{"type": "dance"}', '[1, 2]',
                        '{"type": "message", "content": "   "}', '{"type": "message", "content": "x", '
                        '"client_message_id": 7}', '{"type": "message", "content": "' + "x" * 70_000 + '"}',
                        '{"type": "message", "content": "' + "字" * 4001 + '"}'):
                await ws.send(raw)
                frames.append(await recv_json(ws))
            await ws.send('{"type": "end"}')
            ended, _ = await recv_until(ws, "message")
            await ws.send(message(cmid="after-end"))
            completed, _ = await recv_until(ws, "error")
            return frames, ended, completed

    frames, ended, completed = run(scenario())
    assert frames[0] == {"type": "pong"}
    assert [f["code"] for f in frames[1:]] == ["bad_request", "bad_request", "bad_request", "invalid_input",
                                               "invalid_input", "bad_request", "invalid_input"]
    assert all(f["type"] == "error" and f["retryable"] is False and f["message"] for f in frames[1:])
    assert "4000" in frames[-1]["message"]
    assert ended["is_complete"] is True and ended["interview_stage"] == "completed"
    assert completed["code"] == "completed" and completed["retryable"] is False


def test_a_client_that_leaves_mid_stream_does_not_lose_the_turn(live_server, fake_llm):
    fake_llm.chunk_size = 1
    fake_llm.latency_s = 0.5
    sid = live_server.start_session()

    async def scenario():
        ws = await ws_connect(live_server, sid, token=live_server.token())
        await recv_json(ws)
        await ws.send(message(cmid="leaver"))
        await ws.close()  # before the model has answered

    run(scenario())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = live_server.history(sid)["messages"]
        if len(messages) == 3:
            break
        time.sleep(0.2)
    assert [(m["role"], m["status"]) for m in messages] == [("assistant", "complete"), ("user", "complete"),
                                                           ("assistant", "complete")]
    assert messages[1]["client_message_id"] == "leaver"
