"""Fixtures: each test gets its own database (a SQLite file under tmp_path or a fresh PostgreSQL schema)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, event, text

from tests.api.helpers import schema_url, scratch_schema

pytest_plugins = ["tests.fixtures_llm"]

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

# PostgreSQL runs on every machine of this project (127.0.0.1:5432, trust auth). Tests fail, not skip, when it
# is configured but unreachable; TEST_POSTGRES_URL="" disables it explicitly for a quick local run.
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_schema_url(schema: str) -> str:
    return schema_url(PG_ADMIN_URL, schema)


@pytest.fixture(scope="session")
def pg_admin():
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL disabled by TEST_POSTGRES_URL=''")
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # fails loudly when the server is down
        conn.execute(text("SELECT 1"))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin):
    """A URL pointing at a brand-new schema, dropped after the test."""
    from core.db import dispose_engines

    with scratch_schema(pg_admin, PG_ADMIN_URL) as url:
        yield url
        dispose_engines()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'zhimian.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request):
    """Both databases: the test runs once on a SQLite file and once on a fresh PostgreSQL schema."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Turn and login counters live in process memory (and every client's turns count): each test starts at zero."""
    from core.auth import reset_login_failures
    from core.ratelimit import reset_turn_limits

    reset_turn_limits()
    reset_login_failures()
    yield
    reset_turn_limits()
    reset_login_failures()


@pytest.fixture
def app_env(monkeypatch, tmp_path, sqlite_url):
    """Settings pointed at tmp_path: SQLite file, auth file, offline interviewer, demo mode."""
    from core.config import reset_settings
    from core.db import dispose_engines

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AUTH_CONFIG", str(tmp_path / "auth.yaml"))
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-0123456789abcdef-0123456789")
    for name in ("INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_FALLBACK"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield tmp_path
    dispose_engines()
    reset_settings()


@pytest.fixture
def engine(db_url):
    """A migrated engine on a fresh database (parametrised: SQLite and PostgreSQL)."""
    from core.db import dispose_engines, get_engine

    yield get_engine(db_url)
    dispose_engines()


@pytest.fixture
def sqlite_engine(sqlite_url):
    from core.db import dispose_engines, get_engine

    yield get_engine(sqlite_url)
    dispose_engines()


@pytest.fixture
def db(engine):
    from core.db import session_scope

    with session_scope(engine) as session:
        yield session


class StatementCounter:
    """Counts SQL statements an engine executes while active."""

    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def count_statements():
    return StatementCounter
