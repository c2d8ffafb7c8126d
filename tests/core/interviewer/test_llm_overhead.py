"""The LiteLLM work core.interviewer.llm avoids, checked against FakeLLMServer over real HTTP."""

import socket

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
