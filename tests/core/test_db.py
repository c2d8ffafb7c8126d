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
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_default_database_is_a_file_under_data(monkeypatch, tmp_path):
    from core.config import DATA_DIR, load_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert load_settings({}).DATABASE_URL == f"sqlite:///{DATA_DIR / 'zhimian.db'}"
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}"
    dbmod.get_engine(url)
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
    dbmod.dispose_engines()


def test_concurrent_interviews_on_one_sqlite_file_never_hit_database_is_locked(sqlite_engine):
    """Many writers at once: a read-then-write transaction must wait for the lock, not fail."""
    import threading
    import uuid

    from core.interviewer import turns

    errors: list[BaseException] = []
    start = threading.Barrier(24)

    def interview(i: int) -> None:
        try:
            start.wait()
            r = turns.start_interview(owner=f"user{i % 4}", info={"target_position": f"后端工程师{i}"},
                                      engine=sqlite_engine)
            answers = ("我负责订单系统，用 Redis 缓存和 Kafka 削峰，接口延迟从 800ms 降到 200ms。", "不知道", "好的")
            for answer in answers:
                list(turns.run_turn(owner=f"user{i % 4}", session_id=r.session.id, content=answer,
                                    client_message_id=str(uuid.uuid4()), engine=sqlite_engine))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=interview, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _migrate_in_a_new_process(url: str, at: float):
    import subprocess
    import sys
    from pathlib import Path

    # Each process imports first, then starts migrating at the same wall-clock moment `at`.
    script = (f"import time\nfrom core import db\ntime.sleep(max(0.0, {at!r} - time.time()))\n"
              f"db.get_engine({url!r})\nprint('ok')")
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_workers_starting_together_on_a_new_database_all_migrate_it(db_url):
    """`uvicorn --workers N` on a fresh database: every worker migrates at start-up, at the same moment;
    one applies the migrations, the others wait and find them done (none fails to start)."""
    import time

    at = time.time() + 4.0
    workers = [_migrate_in_a_new_process(db_url, at) for _ in range(4)]
    outcomes = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, [err[-800:] for _, err in outcomes]
    engine = dbmod.get_engine(db_url)
    with engine.connect() as conn:
        applied = [row[0] for row in conn.execute(text("SELECT name FROM schema_migrations ORDER BY name"))]
    assert applied == sorted(name for name, _ in dbmod.MIGRATIONS)
