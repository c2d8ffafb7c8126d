"""Pytest fixtures around FakeLLMServer (loaded by tests/conftest.py as a plugin)."""

from collections.abc import Iterator

import pytest

from tests.llm_server import FakeLLMServer


@pytest.fixture(scope="session")
def llm_server() -> Iterator[FakeLLMServer]:
    """One fake OpenAI-compatible server for the whole test session."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The session's fake server with no faults, requests or custom responder."""
    llm_server.reset()
    yield llm_server
    llm_server.reset()


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """INTERVIEWER_* environment variables pointing at the fake server."""
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/fake-interviewer")
    monkeypatch.setenv("INTERVIEWER_API_BASE", fake_llm.base_url)
    monkeypatch.setenv("INTERVIEWER_API_KEY", "sk-test")
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", "2")
    yield fake_llm
