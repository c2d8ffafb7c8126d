"""The LiteLLM work core.interviewer.llm avoids, checked against FakeLLMServer over real HTTP."""

import socket
import time

import pytest

from core.interviewer import llm
from tests.core.interviewer.test_llm import MESSAGES, settings_for


@pytest.fixture
def connects(monkeypatch):
    """How many TCP connections this process opens."""
    opened = []
    real_connect = socket.socket.connect

    def connect(self, address):
        opened.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return opened


def test_streamed_replies_reuse_their_connection(fake_llm, connects):
    settings = settings_for(fake_llm)
    for _ in range(5):
        stream = llm.stream_text(MESSAGES, settings=settings)
        assert "".join(stream) and stream.completed

    assert len(connects) <= 1  # the first call may open one; the others reuse it


def test_a_stream_is_assembled_and_priced_once(fake_llm, monkeypatch):
    litellm = llm._get_litellm()
    built = []
    real_builder = litellm.stream_chunk_builder
    monkeypatch.setattr(litellm, "stream_chunk_builder", lambda *a, **k: built.append(1) or real_builder(*a, **k))

    stream = llm.stream_text(MESSAGES, settings=settings_for(fake_llm))
    "".join(stream)

    assert built == [1]
    assert stream.usage is not None and stream.usage.completion_tokens


def test_known_model_cost_comes_from_litellm(fake_llm):
    settings = settings_for(fake_llm, model="openai/gpt-4o-mini")
    stream = llm.stream_text(MESSAGES, settings=settings)
    "".join(stream)

    prompt_cost, completion_cost = llm._get_litellm().cost_per_token(
        model="openai/gpt-4o-mini",
        prompt_tokens=stream.usage.prompt_tokens,
        completion_tokens=stream.usage.completion_tokens,
    )
    assert stream.usage.cost_usd == pytest.approx(prompt_cost + completion_cost)


def test_unpriced_model_gets_zero_rates_in_litellm_and_no_cost_here(fake_llm):
    model = "openai/fake-unpriced-model"
    settings = settings_for(fake_llm, model=model)

    usages = [llm.complete_text(MESSAGES, settings=settings)[1] for _ in range(2)]
    stream = llm.stream_text(MESSAGES, settings=settings)
    "".join(stream)

    assert [usage.cost_usd for usage in usages] == [None, None] and stream.usage.cost_usd is None
    assert model in llm._unpriced_models
    entry = llm._get_litellm().model_cost[model]
    assert entry["input_cost_per_token"] == entry["output_cost_per_token"] == 0.0


def _success_handler_calls(monkeypatch) -> list:
    """Calls of litellm's Logging.success_handler in this process (it runs on litellm's logging threads)."""
    from litellm.litellm_core_utils.litellm_logging import Logging

    calls = []
    real_handler = Logging.success_handler

    def success_handler(self, *args, **kwargs):  # the same name: the filter recognises the task by it
        calls.append(1)
        return real_handler(self, *args, **kwargs)

    monkeypatch.setattr(Logging, "success_handler", success_handler)
    return calls


def _wait_for(condition, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_the_success_logging_filter_is_installed_on_litellms_executor():
    llm._get_litellm()
    from litellm.litellm_core_utils.thread_pool_executor import executor

    assert getattr(executor.submit, "_skips_unconsumed_logging", False)  # False: litellm moved its executor


def test_no_success_logging_task_runs_without_callbacks(fake_llm, monkeypatch):
    llm._get_litellm()
    calls = _success_handler_calls(monkeypatch)
    settings = settings_for(fake_llm)

    llm.complete_text(MESSAGES, settings=settings)
    stream = llm.stream_text(MESSAGES, settings=settings)
    "".join(stream)
    time.sleep(0.2)  # a task that slipped through would have run by now

    assert calls == []  # not []: litellm submits its success logging in a new way; see _skip_unconsumed_success_logging
    assert stream.usage is not None and stream.usage.completion_tokens


@pytest.mark.parametrize("streamed", [False, True])
def test_a_registered_callback_still_gets_its_success_event(fake_llm, monkeypatch, streamed):
    litellm = llm._get_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    for name in ("callbacks", "success_callback", "_async_success_callback", "failure_callback"):
        monkeypatch.setattr(litellm, name, [])  # litellm files a registered logger under several lists
    events = []

    class Recorder(CustomLogger):
        def log_success_event(self, kwargs, response_obj, start_time, end_time):
            events.append(kwargs.get("response_cost"))

    litellm.callbacks = [Recorder()]
    settings = settings_for(fake_llm)
    if streamed:
        "".join(llm.stream_text(MESSAGES, settings=settings))
    else:
        llm.complete_text(MESSAGES, settings=settings)

    assert _wait_for(lambda: len(events) >= 1)
