"""Engine per URL, schema migrations applied at start, SQLite tuned for concurrent use."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

from core import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.config import get_settings
from core.migrations import MIGRATIONS

SQLITE_BUSY_TIMEOUT_S = 30
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Long enough for a writer starved by hundreds of busy threads on one core to finish its short transaction.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    _enable_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _enable_wal(cursor) -> None:
    """Switch the file to WAL. A new file's switch needs an exclusive lock that SQLite refuses at once, without
    its busy wait, while another process starting up holds a lock (`uvicorn --workers N`): retry meanwhile."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _build_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=40)
    migrate(engine)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: settings), created and migrated on first use."""
    url = _normalise_url(url or get_settings().DATABASE_URL)
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = _build_engine(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: a DB session, closed afterwards (callers commit)."""
    with Session(engine or get_engine(), expire_on_commit=False) as db:
        yield db


# --- migrations ------------------------------------------------------------------------------------------
# The steps are frozen in core.migrations; here they are applied once each, in order, under a lock.


def _lock_for_migrations(conn: Connection) -> None:
    """One process migrates at a time (`uvicorn --workers N` starts them together); the others wait, then find
    the migrations applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(74201)"))
    elif conn.dialect.name == "sqlite":
        # The sqlite3 module opens a transaction only before INSERT/UPDATE/DELETE, so the DDL and the read of
        # schema_migrations would run unlocked: take the write lock first (waits up to busy_timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations this database has not seen yet; returns their names."""
    applied_now: list[str] = []
    with engine.begin() as conn:
        _lock_for_migrations(conn)
        conn.execute(text(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(40))"
        ))
        done = {row[0] for row in conn.execute(text("SELECT name FROM schema_migrations"))}
        for name, fn in MIGRATIONS:
            if name in done:
                continue
            fn(conn)
            conn.execute(
                text("INSERT INTO schema_migrations (name, applied_at) VALUES (:n, :t)"),
                {"n": name, "t": models.utcnow().isoformat()},
            )
            applied_now.append(name)
    return applied_now


def table_columns(engine: Engine) -> dict[str, set[str]]:
    """Tables and their columns as the database has them (for migration tests and diagnostics)."""
    inspector = inspect(engine)
    return {table: {col["name"] for col in inspector.get_columns(table)} for table in inspector.get_table_names()}
