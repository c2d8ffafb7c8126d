"""Schema migrations, each frozen: a step says what the schema was then, never `create_all` of today's models.

Applied in order, once each, recorded in `schema_migrations`, under a lock so processes starting together do not
race (see core.db.migrate). tests/core/test_migrations.py builds a database with release 6736e46 (with data) and
upgrades it to head on SQLite and PostgreSQL, and checks that head equals the models.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _time(name: str, nullable: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _session_fk(name: str = "session_id") -> Column:
    return Column(name, String(36), ForeignKey("interview_session.id", ondelete="CASCADE"), nullable=False,
                  index=True)


@migration
def m001_initial_tables(conn: Connection) -> None:
    """The schema of the first release (sessions, messages, evaluations, reports, last open session)."""
    meta = MetaData()
    Table(
        "interview_session", meta,
        Column("candidate_name", String(60), nullable=False), Column("target_position", String(100), nullable=False),
        Column("field", String(50), nullable=False), Column("level", String(10), nullable=False),
        Column("language", String(10), nullable=False), Column("job_description", Text),
        Column("id", String(36), primary_key=True), Column("owner", String(64), nullable=False),
        Column("title", String(100)), Column("interview_stage", String(32), nullable=False),
        Column("is_complete", Boolean, nullable=False), Column("ended_early", Boolean, nullable=False),
        Column("plan", JSON, nullable=False), Column("state", JSON, nullable=False),
        Column("message_count", Integer, nullable=False), Column("prompt_tokens", Integer, nullable=False),
        Column("completion_tokens", Integer, nullable=False), Column("cost_usd", Float, nullable=False),
        Column("llm_model", String(200)), Column("overall_score", Integer),
        Column("turn_lock_token", String(36)), _time("turn_lock_until", nullable=True),
        _time("created_at"), _time("last_activity"),
        Index("ix_interview_session_owner_activity", "owner", "last_activity"),
    )
    Table(
        "message", meta,
        Column("id", Integer, primary_key=True, autoincrement=True), _session_fk(),
        Column("role", String(16), nullable=False), Column("content", Text, nullable=False),
        Column("kind", String(16), nullable=False), Column("stage", String(32), nullable=False),
        Column("status", String(16), nullable=False), Column("question_id", String(64)),
        Column("client_message_id", String(64)), Column("reply_to_id", Integer, index=True),
        Column("model", String(200)), Column("prompt_tokens", Integer), Column("completion_tokens", Integer),
        Column("cost_usd", Float), Column("latency_ms", Integer), _time("created_at"),
        UniqueConstraint("session_id", "client_message_id", name="uq_message_client_id"),
    )
    Table(
        "report", meta,
        Column("session_id", String(36), ForeignKey("interview_session.id", ondelete="CASCADE"), primary_key=True),
        Column("overall", Integer, nullable=False), Column("dimensions", JSON, nullable=False),
        Column("strengths", JSON, nullable=False), Column("improvements", JSON, nullable=False),
        Column("per_question", JSON, nullable=False), Column("summary", Text, nullable=False),
        Column("source", String(16), nullable=False), Column("model", String(200)),
        _time("created_at"), _time("updated_at"),
    )
    Table(
        "user_state", meta,
        Column("owner", String(64), primary_key=True),
        Column("last_session_id", String(36), ForeignKey("interview_session.id", ondelete="SET NULL")),
        _time("updated_at"),
    )
    Table(
        "evaluation", meta,
        Column("id", Integer, primary_key=True, autoincrement=True), _session_fk(),
        Column("message_id", Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False),
        Column("question_id", String(64)), Column("stage", String(32), nullable=False),
        Column("score", Float, nullable=False), Column("evidence", JSON, nullable=False),
        Column("missed", JSON, nullable=False), Column("flags", JSON, nullable=False),
        Column("source", String(16), nullable=False), _time("created_at"),
    )
    meta.create_all(conn, checkfirst=True)


@migration
def m002_message_lookup_index(conn: Connection) -> None:
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_message_session_created ON message (session_id, id)"))


@migration
def m003_evaluation_points(conn: Connection) -> None:
    """Per-key-point decisions with their evidence, and what else the evaluator noticed."""
    conn.execute(text("ALTER TABLE evaluation ADD COLUMN points JSON NOT NULL DEFAULT '[]'"))
    conn.execute(text("ALTER TABLE evaluation ADD COLUMN details JSON NOT NULL DEFAULT '{}'"))


@migration
def m004_drill_attempts(conn: Connection) -> None:
    """The question drill's answers, per user."""
    meta = MetaData()
    Table(
        "drill_attempt", meta,
        Column("id", Integer, primary_key=True, autoincrement=True), Column("owner", String(64), nullable=False),
        Column("question_id", String(64), nullable=False), Column("field", String(20), nullable=False),
        Column("language", String(10), nullable=False), Column("stage", String(32), nullable=False),
        Column("level", String(10), nullable=False), Column("answer", Text, nullable=False),
        Column("score", Float, nullable=False), Column("result", JSON, nullable=False), _time("created_at"),
        Index("ix_drill_attempt_owner_created", "owner", "created_at"),
    )
    meta.create_all(conn, checkfirst=True)


@migration
def m005_resumes(conn: Connection) -> None:
    """Uploaded resumes (owner-only, deleted with the interview they were used for) and the report's
    简历声明核验 section."""
    meta = MetaData()
    Table("interview_session", meta, Column("id", String(36), primary_key=True))  # the foreign key's target
    Table(
        "resume", meta,
        Column("id", String(36), primary_key=True), Column("owner", String(64), nullable=False),
        Column("session_id", String(36), ForeignKey("interview_session.id", ondelete="CASCADE"), nullable=True,
               index=True),
        Column("filename", String(200), nullable=False), Column("kind", String(8), nullable=False),
        Column("pages", Integer, nullable=False), Column("language", String(10), nullable=False),
        Column("text", Text, nullable=False), Column("parsed", JSON, nullable=False),
        Column("source", String(16), nullable=False), _time("created_at"), _time("updated_at"),
        Index("ix_resume_owner_created", "owner", "created_at"),
    )
    meta.tables["resume"].create(conn, checkfirst=True)
    conn.execute(text("ALTER TABLE report ADD COLUMN resume_claims JSON NOT NULL DEFAULT '[]'"))


@migration
def m006_model_usage(conn: Connection) -> None:
    """Model use per turn and report, per user: daily token budgets and staff analytics (no cascade on purpose)."""
    meta = MetaData()
    Table(
        "model_usage", meta,
        Column("id", Integer, primary_key=True, autoincrement=True), Column("owner", String(64), nullable=False),
        Column("session_id", String(36), nullable=False), Column("kind", String(16), nullable=False),
        Column("model", String(200), nullable=True), Column("prompt_tokens", Integer, nullable=False),
        Column("completion_tokens", Integer, nullable=False), Column("cost_usd", Float, nullable=True),
        Column("latency_ms", Integer, nullable=False), Column("calls", Integer, nullable=False),
        Column("details", JSON, nullable=False), _time("created_at"),
        Index("ix_model_usage_owner_created", "owner", "created_at"), Index("ix_model_usage_session", "session_id"),
    )
    meta.create_all(conn, checkfirst=True)


SESSION_CHANNEL = "zhimian_session"  # PostgreSQL NOTIFY channel: payload is the id of a session that changed


@migration
def m009_session_change_notify(conn: Connection) -> None:
    """PostgreSQL: every commit that adds a message to a session, completes it or deletes it sends NOTIFY with its id,
    whichever process or host wrote it, so API workers push it to their WebSockets at once (api/ws/hub.py).
    SQLite has no NOTIFY: its workers keep polling."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text(f"""
        CREATE OR REPLACE FUNCTION zhimian_session_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('{SESSION_CHANNEL}', OLD.id);
            ELSIF NEW.message_count IS DISTINCT FROM OLD.message_count
                  OR NEW.is_complete IS DISTINCT FROM OLD.is_complete THEN
                PERFORM pg_notify('{SESSION_CHANNEL}', NEW.id);
            END IF;
            RETURN NULL;
        END $$"""))
    conn.execute(text(
        "CREATE TRIGGER interview_session_notify AFTER UPDATE OR DELETE ON interview_session "
        "FOR EACH ROW EXECUTE FUNCTION zhimian_session_notify()"))
