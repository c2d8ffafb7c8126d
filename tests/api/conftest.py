"""API fixtures: an in-process TestClient per test, and a real uvicorn server (subprocess) for the WebSocket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import LiveServer, server_env


@pytest.fixture
def client(app_env) -> Iterator[TestClient]:
    """The app in process on a fresh SQLite file (lifespan included)."""
    from api import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_client(request, app_env, monkeypatch) -> Iterator[TestClient]:
    """The app on a SQLite file, then on a fresh PostgreSQL schema."""
    from api import app
    from core.config import reset_settings

    if request.param == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("pg_url"))
        reset_settings()
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, llm_server) -> Iterator[LiveServer]:
    """One uvicorn process per test module, its interviewer on the session's fake LLM server."""
    tmp = tmp_path_factory.mktemp("live")
    server = LiveServer(tmp, server_env(tmp, llm_server.base_url)).start()
    yield server
    server.stop()
