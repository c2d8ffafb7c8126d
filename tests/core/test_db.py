"""Migrations on an empty database, idempotence, and SQLite tuning."""

from __future__ import annotations

from sqlalchemy import text

from core import db as dbmod

EXPECTED = {
    "interview_session": {"id", "owner", "candidate_name", "target_position", "field", "level", "language",
                          "job_description", "interview_stage", "is_complete", "plan", "state", "created_at",
                          "last_activity", "message_count", "title", "turn_lock_token", "turn_lock_until"},
    "message": {"id", "session_id", "role", "content", "created_at", "stage", "status", "client_message_id",
                "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "model", "reply_to_id"},
    "evaluation": {"id", "session_id", "message_id", "score", "evidence", "missed", "flags"},
    "report": {"session_id", "overall", "dimensions", "strengths", "improvements", "per_question"},
    "user_state": {"owner", "last_session_id"},
    "schema_migrations": {"name", "applied_at"},
}


def test_migrating_an_empty_database_creates_tables_and_columns(db_url):
    engine = dbmod.get_engine(db_url)
    columns = dbmod.table_columns(engine)
    for table, expected in EXPECTED.items():
        assert expected <= columns[table], f"{table} lacks {expected - columns[table]}"
    with engine.connect() as conn:
        applied = [r[0] for r in conn.execute(text("SELECT name FROM schema_migrations ORDER BY name"))]
    assert applied == [name for name, _ in dbmod.MIGRATIONS]
    dbmod.dispose_engines()


def test_migrations_are_idempotent(db_url):
    engine = dbmod.get_engine(db_url)
    assert dbmod.migrate(engine) == []
    assert dbmod.migrate(engine) == []
    dbmod.dispose_engines()


def test_sqlite_is_tuned_for_concurrent_use(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_default_database_is_a_file_under_data(monkeypatch, tmp_path):
    from core.config import DATA_DIR, load_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert load_settings({}).DATABASE_URL == f"sqlite:///{DATA_DIR / 'zhimian.db'}"
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    dbmod.get_engine(url)
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
    dbmod.dispose_engines()
