"""Timeouts that fit streaming models, cancelled attempts, JSON schema and fallback models, over real HTTP."""

from __future__ import annotations

import socket
import time

import pytest
from pydantic import BaseModel

from core.interviewer import llm
from core.interviewer.errors import InterviewerError
from core.interviewer.llm import LLMSettings

MESSAGES = [{"role": "system", "content": "你是一名面试官。"}, {"role": "user", "content": "你好，我准备好了。"}]
LONG_REPLY = "请先介绍一下你最近负责的项目，以及你在其中承担的具体职责和遇到的主要挑战。"


class Verdict(BaseModel):
    score: int
    reason: str


def settings_for(server, **overrides) -> LLMSettings:
    values = {"model": "openai/fake-interviewer", "api_base": server.base_url, "api_key": "sk-test",
              "timeout": 3.0, "stream_timeout": 0.5, "num_retries": 0}
    return LLMSettings(**(values | overrides))


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(llm, "RETRY_BASE_DELAY_S", 0.01)
    llm.load()  # the ~6 s import is not part of any timing below


def test_a_stream_that_stalls_after_its_first_token_fails_on_the_idle_timeout(fake_llm):
    fake_llm.responder = lambda body: LONG_REPLY
    fake_llm.hang_s = 10
    llm.complete_text(MESSAGES, settings=settings_for(fake_llm))  # the first stream's lazy loading, untimed
    fake_llm.fail_next("stall")
    started = time.perf_counter()
    with pytest.raises(InterviewerError) as caught:
        llm.complete_text(MESSAGES, settings=settings_for(fake_llm, timeout=6.0))
    assert caught.value.code in ("timeout", "stream_interrupted") and caught.value.retryable
    assert time.perf_counter() - started < 3.5  # the 0.5 s idle timeout, not the 6 s first-token one
    deadline = time.monotonic() + 2
    while not fake_llm.closed_early and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_llm.closed_early  # the request was closed, so the model server stops generating


def test_a_slow_first_token_is_allowed_its_own_timeout(fake_llm):
    fake_llm.responder = lambda body: LONG_REPLY
    fake_llm.latency_s = 1.2  # longer than the idle timeout, shorter than the first-token timeout
    text, usage = llm.complete_text(MESSAGES, settings=settings_for(fake_llm))
    assert text == LONG_REPLY and usage.first_token_ms >= 1100


def test_an_abandoned_attempt_is_closed_before_its_retry_starts(fake_llm):
    fake_llm.hang_s = 10
    fake_llm.fail_next("timeout")
    text, _ = llm.complete_text(MESSAGES, settings=settings_for(fake_llm, timeout=0.5, num_retries=1))
    assert text == "这是模拟回复。"
    first_closed, second_arrived = fake_llm.closed_early[0], fake_llm.arrivals[1]
    assert first_closed <= second_arrived  # never two attempts running on the model server at once


def test_a_json_call_is_bounded_by_its_max_tokens(fake_llm):
    """A call may last timeout + max_tokens / min_tokens_per_s in all: a model trickling tokens for longer is cut
    (and the request closed) although no single gap reaches the idle timeout."""
    fake_llm.responder = lambda body: '{"score": 3, "reason": "' + "很好" * 200 + '"}'
    fake_llm.chunk_size = 1
    fake_llm.chunk_delay_s = 0.01  # ~4 s for the whole reply
    settings = settings_for(fake_llm, timeout=0.3, max_tokens=20, min_tokens_per_s=100, stream_timeout=1.0)
    started = time.perf_counter()
    with pytest.raises(InterviewerError) as caught:
        llm.complete_json(MESSAGES, settings=settings, schema=Verdict)
    assert caught.value.code == "stream_interrupted"
    assert time.perf_counter() - started < 2.5


def test_json_schema_is_asked_where_the_provider_supports_it(fake_llm):
    llm._get_litellm().register_model({"openai/fake-schema": {
        "litellm_provider": "openai", "mode": "chat", "supports_response_schema": True,
        "input_cost_per_token": 0.0, "output_cost_per_token": 0.0}})
    fake_llm.responder = lambda body: '{"score": 4, "reason": "清楚"}'
    verdict, _ = llm.complete_json(MESSAGES, settings=settings_for(fake_llm, model="openai/fake-schema"),
                                   schema=Verdict)
    assert verdict == Verdict(score=4, reason="清楚")
    response_format = fake_llm.requests[-1]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["required"] == ["score", "reason"]
    llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)
    assert fake_llm.requests[-1]["response_format"] == {"type": "json_object"}  # unknown model: JSON mode


def test_tolerant_extraction_takes_the_object_that_fits():
    reply = '思考：{"draft": true}\n最终结果：{"score": 2, "reason": "薄弱"} 完毕'
    assert llm.parse_json_reply(reply, Verdict) == Verdict(score=2, reason="薄弱")


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_fallback_model_answers_when_the_primary_is_down(fake_llm):
    primary = settings_for(fake_llm, api_base=f"http://127.0.0.1:{_dead_port()}/v1", num_retries=1,
                           fallbacks=({"model": "openai/fake-backup", "api_base": fake_llm.base_url,
                                       "api_key": "sk-test"},))
    stream = llm.stream_text(MESSAGES, settings=primary)
    assert "".join(stream) == "这是模拟回复。"
    assert stream.usage.model == "openai/fake-backup"
    assert [r["model"] for r in fake_llm.requests] == ["fake-backup"]


def test_no_fallback_after_a_non_retryable_error(fake_llm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    primary = settings_for(fake_llm, api_key=None, fallbacks=({"model": "openai/fake-backup",
                                                               "api_base": fake_llm.base_url},))
    with pytest.raises(InterviewerError) as caught:
        llm.complete_text(MESSAGES, settings=primary)
    assert caught.value.code == "auth" and fake_llm.requests == []
