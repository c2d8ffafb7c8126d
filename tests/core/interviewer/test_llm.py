"""core.interviewer.llm against FakeLLMServer over real HTTP (litellm is not mocked)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from core.interviewer import llm
from core.interviewer.errors import InterviewerError
from core.interviewer.llm import LLMSettings

REPO_ROOT = Path(__file__).resolve().parents[3]
LONG_REPLY = "请先介绍一下你最近负责的项目，以及你在其中承担的具体职责和遇到的主要挑战。"


class Verdict(BaseModel):
    score: int
    reason: str


def settings_for(server, **overrides) -> LLMSettings:
    values = {
        "model": "openai/fake-interviewer",
        "api_base": server.base_url,
        "api_key": "sk-test",
        "timeout": 2.0,
        "num_retries": 2,
    }
    return LLMSettings(**(values | overrides))


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(llm, "RETRY_BASE_DELAY_S", 0.01)


MESSAGES = [
    {"role": "system", "content": "你是一名面试官。"},
    {"role": "user", "content": "你好，我准备好了。"},
]


def test_importing_llm_does_not_import_litellm():
    code = "import core.interviewer.llm, sys; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)


def test_stream_deltas_concatenate_to_reply_and_usage_is_recorded(fake_llm):
    fake_llm.responder = lambda body: LONG_REPLY
    fake_llm.chunk_size = 5
    stream = llm.stream_text(MESSAGES, settings=settings_for(fake_llm))

    deltas = list(stream)

    assert len(deltas) > 3
    assert "".join(deltas) == LONG_REPLY == stream.text
    assert stream.completed and stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage.completion_tokens == len(LONG_REPLY)
    assert stream.usage.prompt_tokens == sum(len(m["content"]) for m in MESSAGES)
    assert stream.usage.model == "openai/fake-interviewer"
    assert stream.usage.cost_usd is None  # not in litellm's price map
    assert stream.usage.latency_ms >= 0
    (request,) = fake_llm.requests
    assert request["stream"] is True and request["messages"] == MESSAGES
    assert llm.litellm_loaded()


def test_complete_text_returns_the_whole_reply(fake_llm):
    text, usage = llm.complete_text(MESSAGES, settings=settings_for(fake_llm))

    assert text == "这是模拟回复。"
    assert usage.completion_tokens == len(text)
    assert usage.prompt_tokens and usage.latency_ms >= 0
    # streamed even when read whole, so an abandoned call can be closed; output capped on every call
    assert fake_llm.requests[0]["stream"] is True and fake_llm.requests[0]["max_tokens"] == 200


def test_complete_json_validates_against_the_schema(fake_llm):
    fake_llm.responder = lambda body: '{"score": 4, "reason": "结构清晰"}'

    verdict, usage = llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)

    assert verdict == Verdict(score=4, reason="结构清晰")
    assert usage.completion_tokens and usage.prompt_tokens
    (request,) = fake_llm.requests
    assert request["response_format"] == {"type": "json_object"}
    # The prompt never said JSON, so the call added the schema to the system message.
    assert request["messages"][0]["content"].startswith("你是一名面试官。")
    assert "JSON Schema" in request["messages"][0]["content"]


def test_complete_json_accepts_fenced_json_with_prose(fake_llm):
    reply = '好的，评估如下：\n```json\n{"score": 3, "reason": "还行"}\n```\n'
    fake_llm.responder = lambda body: reply

    verdict, _ = llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)

    assert verdict == Verdict(score=3, reason="还行")


def test_complete_json_asks_again_once_after_invalid_output(fake_llm):
    fake_llm.responder = lambda body: '{"score": 5, "reason": "好"}'
    fake_llm.fail_next("invalid_json")

    verdict, usage = llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)

    assert verdict.score == 5
    assert len(fake_llm.requests) == 2
    assert usage.completion_tokens == len("this is not json {") + len('{"score": 5, "reason": "好"}')


def test_invalid_json_raises_invalid_output(fake_llm):
    fake_llm.fail_next("invalid_json", times=2)

    with pytest.raises(InterviewerError) as caught:
        llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)

    assert caught.value.code == "invalid_output" and caught.value.retryable


def test_json_that_misses_schema_fields_is_invalid_output(fake_llm):
    fake_llm.responder = lambda body: '{"score": "very high"}'

    with pytest.raises(InterviewerError) as caught:
        llm.complete_json(MESSAGES, settings=settings_for(fake_llm), schema=Verdict)

    assert caught.value.code == "invalid_output"


def test_server_error_once_is_retried(fake_llm):
    fake_llm.fail_next("500")

    text, _ = llm.complete_text(MESSAGES, settings=settings_for(fake_llm))

    assert text == "这是模拟回复。"
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize(("mode", "code"), [("500", "upstream_error"), ("429", "rate_limited")])
def test_repeated_failures_raise_a_retryable_error(fake_llm, mode, code):
    fake_llm.fail_next(mode, times=5)

    with pytest.raises(InterviewerError) as caught:
        llm.complete_text(MESSAGES, settings=settings_for(fake_llm, num_retries=2))

    assert caught.value.code == code and caught.value.retryable
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("mode", ["429", "500", "cut"])
def test_stream_failure_before_first_token_is_retried(fake_llm, mode):
    fake_llm.fail_next(mode)
    fake_llm.responder = lambda body: LONG_REPLY
    if mode == "cut":
        fake_llm.responder = lambda body: "短"  # cut before any text arrives

    started = time.perf_counter()
    stream = llm.stream_text(MESSAGES, settings=settings_for(fake_llm))
    text = "".join(stream)

    assert len(fake_llm.requests) == 2
    assert stream.completed and text == stream.text
    assert time.perf_counter() - started < 1.5  # Retry-After: 0 is honoured


def test_non_stream_connection_drop_is_retried(fake_llm):
    fake_llm.fail_next("cut")

    text, _ = llm.complete_text(MESSAGES, settings=settings_for(fake_llm))

    assert text == "这是模拟回复。"
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("streaming", [True, False])
def test_hanging_server_raises_timeout_in_bounded_time(fake_llm, streaming):
    fake_llm.hang_s = 5
    fake_llm.fail_next("timeout", times=2)
    settings = settings_for(fake_llm, timeout=0.5, num_retries=1)

    started = time.perf_counter()
    with pytest.raises(InterviewerError) as caught:
        if streaming:
            list(llm.stream_text(MESSAGES, settings=settings))
        else:
            llm.complete_text(MESSAGES, settings=settings)

    assert caught.value.code == "timeout" and caught.value.retryable
    assert len(fake_llm.requests) == 2
    assert time.perf_counter() - started < 2.5


@pytest.mark.parametrize("mode", ["cut", "no_finish"])
def test_stream_broken_after_tokens_is_interrupted_not_complete(fake_llm, mode):
    fake_llm.responder = lambda body: LONG_REPLY
    fake_llm.chunk_size = 4
    fake_llm.fail_next(mode)
    stream = llm.stream_text(MESSAGES, settings=settings_for(fake_llm))

    received: list[str] = []
    with pytest.raises(InterviewerError) as caught:
        for delta in stream:
            received.append(delta)

    assert caught.value.code == "stream_interrupted"
    partial = "".join(received)
    assert partial and partial == stream.text
    if mode == "cut":
        assert LONG_REPLY.startswith(partial) and partial != LONG_REPLY
    assert not stream.completed and stream.usage is None
    assert len(fake_llm.requests) == 1  # never retried once text was shown


def test_consumer_may_stop_a_stream_early(fake_llm):
    fake_llm.responder = lambda body: LONG_REPLY
    fake_llm.chunk_size = 4
    stream = llm.stream_text(MESSAGES, settings=settings_for(fake_llm))

    for _ in stream:
        break
    iter(stream).close()

    assert not stream.completed
    text, _ = llm.complete_text(MESSAGES, settings=settings_for(fake_llm))
    assert text == LONG_REPLY


def test_missing_api_key_is_an_auth_error_without_retries(fake_llm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = settings_for(fake_llm, api_key=None)

    with pytest.raises(InterviewerError) as caught:
        llm.complete_text(MESSAGES, settings=settings)

    assert caught.value.code == "auth" and not caught.value.retryable
    assert fake_llm.requests == []


def test_provider_exceptions_map_to_error_codes():
    llm._get_litellm()
    import litellm

    def make(cls, **extra):
        return cls(message="x", llm_provider="openai", model="m", **extra)

    cases = [
        (make(litellm.AuthenticationError), "auth", False),
        (make(litellm.BadRequestError), "bad_request", False),
        (make(litellm.ContextWindowExceededError), "bad_request", False),
        (make(litellm.RateLimitError), "rate_limited", True),
        (make(litellm.Timeout), "timeout", True),
        (make(litellm.ServiceUnavailableError), "upstream_error", True),
        (make(litellm.InternalServerError), "upstream_error", True),
        (make(litellm.APIConnectionError), "upstream_error", True),
    ]
    for exc, code, retryable in cases:
        error = llm._to_llm_error(exc)
        assert (error.code, error.retryable) == (code, retryable), type(exc)


def test_llm_env_points_at_the_fake_server(llm_env):
    assert os.environ["INTERVIEWER_MODEL"] == "openai/fake-interviewer"
    base_url = os.environ["INTERVIEWER_API_BASE"]
    assert base_url == llm_env.base_url
    models = httpx.get(f"{base_url}/models").json()
    assert models["data"][0]["id"] == "fake-interviewer"
    settings = LLMSettings(
        model=os.environ["INTERVIEWER_MODEL"],
        api_base=base_url,
        api_key=os.environ["INTERVIEWER_API_KEY"],
        timeout=float(os.environ["INTERVIEWER_TIMEOUT"]),
    )
    assert llm.complete_text(MESSAGES, settings=settings)[0] == "这是模拟回复。"
