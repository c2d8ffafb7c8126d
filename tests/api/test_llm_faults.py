"""LLM failures through the API, against the local OpenAI-compatible server: retryable errors, answer kept,
and a retry yields exactly one reply."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from core.config import reset_settings
from tests.api.helpers import login, recv_json, recv_until, start, ws_connect
from tests.llm_server import default_responder, wants_json

CHAT = "/api/v1/chat"
ANSWER = "我负责过公司的 React 组件库，用 memo 和虚拟列表把首屏时间从 3 秒降到 1.2 秒。"
EVALUATION = json.dumps({"score": 3.5, "evidence": [], "missed": [], "flags": []})


@pytest.fixture
def llm_client(app_env, llm_env):
    from api import app

    with TestClient(app) as client:
        yield client


def roles_and_ids(messages: list[dict]) -> list[tuple[str, str | None]]:
    return [(m["role"], m["client_message_id"]) for m in messages]


def arm_after_evaluation(fake, mode: str, times: int = 1):
    """A responder that grades validly and makes the next `times` requests (the streamed reply) fail in `mode`."""

    def responder(body: dict) -> str:
        if wants_json(body):
            fake.responder = default_responder
            fake.fail_next(mode, times=times)
            return EVALUATION
        return default_responder(body)

    return responder


@pytest.mark.parametrize(("fault", "status", "code"), [("500", 503, "upstream_error"), ("429", 429, "rate_limited")])
def test_rest_turn_failure_is_retryable_and_the_retry_answers_once(llm_client, llm_env, fault, status, code):
    client, fake = llm_client, llm_env
    headers = login(client)
    sid = start(client, headers)["session_id"]
    fake.fail_next(fault, times=20)
    failed = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers,
                         json={"content": ANSWER, "client_message_id": "retry-me"})
    assert failed.status_code == status, failed.text
    assert failed.json()["retryable"] is True and failed.json()["code"] == code
    assert int(failed.headers["retry-after"]) >= 1
    assert "litellm" not in failed.text and "Exception" not in failed.text  # provider details stay in the log
    history = client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]
    assert roles_and_ids(history) == [("assistant", None), ("user", "retry-me")]  # the answer is kept

    fake.reset()
    retried = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers,
                          json={"content": ANSWER, "client_message_id": "retry-me"})
    assert retried.status_code == 200, retried.text
    again = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers,
                        json={"content": ANSWER, "client_message_id": "retry-me"})
    assert again.json()["replayed"] is True and again.json()["message"]["id"] == retried.json()["message"]["id"]
    history = client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]
    assert roles_and_ids(history) == [("assistant", None), ("user", "retry-me"), ("assistant", None)]


def test_rest_timeout_is_a_retryable_503(llm_client, llm_env):
    client, fake = llm_client, llm_env
    fake.hang_s = 3.0
    headers = login(client)
    sid = start(client, headers)["session_id"]
    fake.fail_next("timeout", times=20)
    failed = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": ANSWER})
    assert failed.status_code == 503
    assert failed.json()["code"] == "timeout" and failed.json()["retryable"] is True
    history = client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]
    assert [m["role"] for m in history] == ["assistant", "user"]


def test_unusable_model_json_falls_back_to_the_rules(llm_client, llm_env):
    client, fake = llm_client, llm_env
    headers = login(client)
    sid = start(client, headers)["session_id"]
    fake.fail_next("invalid_json", times=2)
    response = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": ANSWER})
    assert response.status_code == 200 and response.json()["message"]["status"] == "complete"


@pytest.mark.parametrize(("mode", "code"), [("cut", "stream_interrupted"), ("500", "upstream_error")])
def test_ws_reply_failure_then_retry(live_server, fake_llm, mode, code):
    if mode == "cut":
        fake_llm.chunk_size = 2
        fake_llm.responder = arm_after_evaluation(fake_llm, "cut", times=20)
    else:
        fake_llm.fail_next("500", times=20)
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "message", "content": ANSWER, "client_message_id": "ws-retry"}))
            error, before = await recv_until(ws, "error")
            fake_llm.reset()
            await ws.send(json.dumps({"type": "message", "content": ANSWER, "client_message_id": "ws-retry"}))
            final, _ = await recv_until(ws, "message")
            return error, before, final

    error, before, final = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert error["code"] == code and error["retryable"] is True and error["client_message_id"] == "ws-retry"
    assert "已保存" in error["message"]  # the user's language, and what to do
    assert before and {f["type"] for f in before} == {"thinking"}  # waiting was shown, no half-written reply
    assert final["replayed"] is False and final["message"]["status"] == "complete"
    messages = live_server.history(sid)["messages"]
    assert roles_and_ids(messages) == [("assistant", None), ("user", "ws-retry"), ("assistant", None)]
    assert messages[-1]["id"] == final["message"]["id"]


def test_daily_token_budget_refuses_with_a_clear_message_and_survives_deleting(app_env, llm_env, monkeypatch):
    """INTERVIEWER_DAILY_TOKENS: once a user's model calls reach it, turns are refused (429, not retryable) in the
    user's language; the answer is kept; deleting interviews does not refill the budget; others are unaffected."""
    from api import app

    monkeypatch.setenv("INTERVIEWER_DAILY_TOKENS", "200")  # the fake server counts one token per character
    reset_settings()
    with TestClient(app) as client:
        headers = login(client)
        sid = start(client, headers)["session_id"]
        first = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": ANSWER})
        assert first.status_code == 200, first.text
        refused = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers,
                              json={"content": ANSWER, "client_message_id": "over"})
        assert refused.status_code == 429 and refused.json()["code"] == "budget_exhausted"
        assert refused.json()["retryable"] is False and "明天" in refused.json()["detail"]
        history = client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]
        assert history[-1]["client_message_id"] == "over"  # the answer is kept for tomorrow
        assert client.delete(f"{CHAT}/sessions/{sid}", headers=headers).status_code == 200
        again = start(client, headers)["session_id"]
        still = client.post(f"{CHAT}/sessions/{again}/messages", headers=headers, json={"content": ANSWER})
        assert still.status_code == 429 and still.json()["code"] == "budget_exhausted"
        other = login(client, "staff")
        theirs = start(client, other)["session_id"]
        assert client.post(f"{CHAT}/sessions/{theirs}/messages", headers=other,
                           json={"content": ANSWER}).status_code == 200


def test_report_regeneration_with_a_model_is_rate_limited_per_user(app_env, llm_env, monkeypatch):
    from api import app

    monkeypatch.setenv("REPORT_RATE_LIMIT", "2/hour")
    reset_settings()
    with TestClient(app) as client:
        headers = login(client)
        sid = start(client, headers)["session_id"]
        client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": ANSWER})
        assert client.post(f"{CHAT}/sessions/{sid}/end", headers=headers).status_code == 200
        calls = len(llm_env.requests)
        responses = [client.post(f"{CHAT}/sessions/{sid}/report?regenerate=true", headers=headers)
                     for _ in range(4)]
        statuses = [r.status_code for r in responses]
        assert statuses == [200, 200, 429, 429]
        assert len(llm_env.requests) - calls == 2  # refused regenerations never reach the model
        assert client.get(f"{CHAT}/sessions/{sid}/report", headers=headers).status_code == 200


def test_ws_shows_thinking_with_elapsed_seconds_until_the_first_token(live_server, fake_llm):
    fake_llm.latency_s = 1.6  # each call waits before answering: the grade, then the reply
    sid = live_server.start_session()

    async def scenario():
        async with await ws_connect(live_server, sid, token=live_server.token()) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "message", "content": ANSWER, "client_message_id": "think"}))
            return await recv_until(ws, "message")

    final, before = asyncio.run(asyncio.wait_for(scenario(), 60))
    thinking = [f for f in before if f["type"] == "thinking"]
    first_token = next(i for i, f in enumerate(before) if f["type"] == "token")
    assert len(thinking) >= 3 and all(f["client_message_id"] == "think" for f in thinking)
    assert before[:len(thinking)] == thinking and first_token == len(thinking)  # only before the first token
    elapsed = [f["elapsed_s"] for f in thinking]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 2.0
    assert final["message"]["status"] == "complete"
