"""Migrations are frozen: a database made by an old release upgrades to head with its data, and a new database
built by the migrations has exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import core.models  # noqa: F401  (the tables on SQLModel.metadata)
from core import sessions
from core.db import dispose_engines, get_engine, session_scope
from core.interviewer import turns
from core.migrations import MIGRATIONS

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE = "6736e46"  # tests/core/fixtures/release_6736e46.*.sql: made by that release's code (two interviews)
# (alice's completed interview, bob's open one) in each fixture
SESSIONS = {"sqlite": ("86da83b7-b4d7-418b-b7fe-4353e11efb22", "ec95fbeb-359e-4bed-aca2-b49ff47bd636"),
            "postgres": ("c5c7ae85-639c-4d5e-a3a1-44afab649069", "7e6f4002-31d7-4f00-aa17-46966b2fc16d")}


def _release_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "release.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / f"release_{RELEASE}.sqlite.sql").read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def _release_postgres(pg_url: str) -> str:
    schema = pg_url.split("search_path%3D", 1)[1]
    dump = (FIXTURES / f"release_{RELEASE}.postgres.sql").read_text(encoding="utf-8").replace("rel_fixture", schema)
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        conn.connection.driver_connection.execute(dump)  # no parameters: the dump's % signs stay as they are
    engine.dispose()
    return pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def release_db(request, tmp_path):
    """(kind, URL) of a database exactly as release 6736e46 left it."""
    if request.param == "sqlite":
        yield "sqlite", _release_sqlite(tmp_path)
    else:
        yield "postgres", _release_postgres(request.getfixturevalue("pg_url"))
    dispose_engines()


def _schema(engine) -> dict[str, dict[str, bool]]:
    """table → column → nullable, as the database has it."""
    inspector = inspect(engine)
    return {table: {c["name"]: bool(c["nullable"]) for c in inspector.get_columns(table)}
            for table in inspector.get_table_names() if table != "schema_migrations"}


def _models_schema() -> dict[str, dict[str, bool]]:
    return {table.name: {c.name: bool(c.nullable) for c in table.columns} for table in SQLModel.metadata.sorted_tables}


def test_release_database_upgrades_to_head_with_its_data(release_db):
    kind, url = release_db
    engine = get_engine(url)  # migrates on first use
    applied = {row[0] for row in engine.connect().execute(text("SELECT name FROM schema_migrations"))}
    assert applied == {name for name, _ in MIGRATIONS}
    assert _schema(engine) == _models_schema()
    done, open_ = SESSIONS[kind]
    with session_scope(engine) as db:
        history = sessions.get_history(db=db, owner="alice", session_id=done)
        assert history.session.is_complete and history.session.target_position == "Java后端开发工程师"
        assert any("undo log" in m.content for m in history.messages)
    report = turns.get_report(owner="alice", session_id=done, engine=engine)
    assert report is not None and report.per_question
    regenerated = turns.generate_report(owner="alice", session_id=done, regenerate=True, engine=engine)
    assert regenerated.per_question[0]["question_id"] == report.per_question[0]["question_id"]
    # The interview left open by the old release continues.
    result = [e for e in turns.run_turn(owner="bob", session_id=open_, engine=engine, client_message_id="after-upgrade",
                                        content="In my last role I built SQL dashboards for the sales team.")][-1]
    assert result.reply.content and not result.replayed


def test_a_new_database_has_exactly_the_models_schema(engine):
    assert _schema(engine) == _models_schema()


def test_migrating_twice_changes_nothing(engine):
    from core.db import migrate

    assert migrate(engine) == []
