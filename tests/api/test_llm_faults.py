"""LLM failures through the API, against the local OpenAI-compatible server: retryable errors, answer kept,
and a retry yields exactly one reply."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

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
