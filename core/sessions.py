"""Interview-session service: every read and write takes the owner, so no caller can forget it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import DateTime, TypeDecorator, bindparam, delete, func, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime as AutoUTCDateTime

from core.display import duration_minutes, status_key
from core.models import (
    InterviewSession,
    InterviewSessionCreate,
    Message,
    MessageCreate,
    MessagePublic,
    SessionSummary,
    UserState,
    forbidden_character,
    utcnow,
)

_SESSION = InterviewSession.__table__


class SessionNotFound(LookupError):
    """The session does not exist or belongs to someone else (deliberately indistinguishable)."""

    def __init__(self, session_id: str = ""):
        super().__init__("会话不存在或已被删除 / session not found")
        self.session_id = session_id


class InvalidInput(ValueError):
    """Input a user can correct; the message says how."""


class SessionLimitReached(InvalidInput):
    """The user already has the maximum number of sessions."""


# A session with its messages, as a history view needs it.
@dataclass
class SessionHistory:
    session: InterviewSession
    messages: list[MessagePublic] = field(default_factory=list)


def validate_create(data: dict | InterviewSessionCreate) -> InterviewSessionCreate:
    """Check create input; raises InvalidInput with every problem in one readable message."""
    if isinstance(data, InterviewSessionCreate):
        data = data.model_dump()
    try:
        return InterviewSessionCreate.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("; ".join(readable_error(err) for err in exc.errors())) from None


def validate_message(content: Any, client_message_id: Any = None) -> MessageCreate:
    """A candidate's answer under the rule every client shares: 1–4000 characters after trimming, an optional
    client_message_id of 1–64 characters. InvalidInput says what to fix."""
    try:
        return MessageCreate.model_validate({"content": content, "client_message_id": client_message_id})
    except ValidationError as exc:
        raise InvalidInput("; ".join(readable_error(err, located=False) for err in exc.errors())) from None


def readable_error(err: Mapping[str, Any], located: bool = True) -> str:
    """One pydantic error as a line a person can act on: 'field: message'."""
    where = ".".join(str(p) for p in err.get("loc", ())) if located else ""
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


_COUNT_OWN = select(func.count()).select_from(InterviewSession.__table__).where(
    InterviewSession.__table__.c.owner == bindparam("owner"))


def count_sessions(*, db: Session | Connection, owner: str) -> int:
    return db.execute(_COUNT_OWN, {"owner": owner}).scalar_one()


def check_session_limit(*, db: Session | Connection, owner: str, max_sessions: int | None) -> None:
    """SessionLimitReached when `owner` already has `max_sessions` sessions (None: no limit).

    Call it in the transaction that inserts the session: it first locks the owner's row (lock_owner), so the
    count and the insert are atomic against every other worker's start."""
    if max_sessions is None:
        return
    lock_owner(db=db, owner=owner)
    if count_sessions(db=db, owner=owner) >= max_sessions:
        raise SessionLimitReached(
            f"最多保留 {max_sessions} 个面试会话，请先删除旧会话 / at most {max_sessions} sessions per user"
        )


class _UTCMoment(TypeDecorator):
    """A stored UTC moment read as an aware datetime. On SQLite, where it is text, one C call per value: SQLModel's
    type parses and then replaces tzinfo through three Python calls, the list's largest cost after SQLite itself."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def result_processor(self, dialect, coltype):
        if dialect.name == "sqlite":
            return _utc_from_sqlite_text
        return AutoUTCDateTime().result_processor(dialect, coltype)


def _utc_from_sqlite_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value + "+00:00")  # stored naive, in UTC


# The list reads the columns of the table itself, in a statement built once: an ORM-entity select pays ORM
# compilation and caching on every call, about as much again as SQLite takes to run it (bench/bench_sessions.py).
_SUMMARY_COLUMNS = tuple(
    type_coerce(column, _UTCMoment()).label(column.name) if column.name in ("created_at", "last_activity") else column
    for column in (_SESSION.c[name] for name in (
        "id", "title", "target_position", "field", "level", "language", "created_at", "last_activity",
        "message_count", "interview_stage", "is_complete")))
_SUMMARIES_OF_OWNER = (
    select(*_SUMMARY_COLUMNS).where(_SESSION.c.owner == bindparam("owner"))
    .order_by(_SESSION.c.last_activity.desc(), _SESSION.c.created_at.desc())
)


def list_session_summaries(*, db: Session, owner: str) -> list[SessionSummary]:
    """The owner's sessions, newest activity first, in one SQL query."""
    return [_summary(*row) for row in db.connection().execute(_SUMMARIES_OF_OWNER, {"owner": owner}).all()]


def _summary(sid, title, position, fld, level, lang, created, last, count, stage, complete) -> SessionSummary:
    return SessionSummary(
        sid, title or position, position, fld, level, lang, created, last, count,
        status_key(message_count=count, is_complete=complete, stage=stage), stage, bool(complete),
        duration_minutes(created, last),
    )


def summarize_session(session: InterviewSession) -> SessionSummary:
    """The list row for a session already loaded (same fields and status rule as the list query)."""
    return _summary(*(getattr(session, column.name) for column in _SUMMARY_COLUMNS))


def get_session(*, db: Session, owner: str, session_id: str) -> InterviewSession:
    """The session if `owner` owns it; SessionNotFound otherwise."""
    session = db.get(InterviewSession, session_id) if possible_id(session_id) else None
    if session is None or session.owner != owner:
        raise SessionNotFound(session_id)
    return session


_SUMMARY_OF_ONE = select(*_SUMMARY_COLUMNS).where(
    _SESSION.c.id == bindparam("session_id"), _SESSION.c.owner == bindparam("owner"))


def possible_id(session_id: str | None) -> bool:
    """Whether `session_id` could name a stored session: an id holding a control character (a NUL from a URL) names
    none, and PostgreSQL would refuse to even compare it."""
    return bool(session_id) and isinstance(session_id, str) and forbidden_character(session_id) is None


def get_summary(*, db: Session, owner: str, session_id: str) -> SessionSummary:
    if not possible_id(session_id):
        raise SessionNotFound(session_id)
    row = db.connection().execute(_SUMMARY_OF_ONE, {"session_id": session_id, "owner": owner}).first()
    if row is None:
        raise SessionNotFound(session_id)
    return _summary(*row)


def get_history(*, db: Session, owner: str, session_id: str) -> SessionHistory:
    """The session and its messages in order."""
    session = get_session(db=db, owner=owner, session_id=session_id)
    rows = db.execute(select(Message).where(Message.session_id == session_id).order_by(Message.id)).scalars()
    messages = [MessagePublic.model_validate(m, from_attributes=True) for m in rows]
    return SessionHistory(session=session, messages=messages)


# What a watcher of open WebSockets compares between polls: one primary-key row per session.
@dataclass(frozen=True)
class SessionPulse:
    message_count: int
    interview_stage: str
    is_complete: bool


# A complete interviewer message and the candidate answer it replies to (None for a welcome or closing).
@dataclass(frozen=True)
class StoredReply:
    reply: MessagePublic
    answer: MessagePublic | None


PULSE_BATCH = 500  # ids per IN list: far under every SQLite build's parameter limit

# The live view's statements are built once (Core, bound parameters): every open WebSocket and every watcher
# round runs them, and building an ORM statement (above all an aliased join) costs more than executing it.
_MESSAGE = Message.__table__
_ANSWER = _MESSAGE.alias("answer")
_PUBLIC_FIELDS = tuple(MessagePublic.model_fields)
_PULSES = select(_SESSION.c.id, _SESSION.c.owner, _SESSION.c.message_count, _SESSION.c.interview_stage,
                 _SESSION.c.is_complete).where(_SESSION.c.id.in_(bindparam("ids", expanding=True)))
_COMPLETE_REPLIES = (
    select(*(_MESSAGE.c[name] for name in _PUBLIC_FIELDS))
    .join_from(_MESSAGE, _SESSION, _SESSION.c.id == _MESSAGE.c.session_id)
    .where(_MESSAGE.c.session_id == bindparam("session_id"), _SESSION.c.owner == bindparam("owner"),
           _MESSAGE.c.role == "assistant", _MESSAGE.c.status == "complete")
)
_LATEST_REPLY_ID = _COMPLETE_REPLIES.with_only_columns(_MESSAGE.c.id).order_by(_MESSAGE.c.id.desc()).limit(1)
_REPLIES_AFTER = (
    _COMPLETE_REPLIES.add_columns(*(_ANSWER.c[name].label(f"answer_{name}") for name in _PUBLIC_FIELDS))
    .outerjoin(_ANSWER, _ANSWER.c.id == _MESSAGE.c.reply_to_id)
    .where(_MESSAGE.c.id > bindparam("after_id")).order_by(_MESSAGE.c.id)
)


def read_pulses(*, db: Session, owners: Mapping[str, str]) -> dict[str, SessionPulse]:
    """Pulses of the sessions (id → owner) that still exist and are that owner's; a missing id was deleted."""
    ids, pulses = list(owners), {}
    for start in range(0, len(ids), PULSE_BATCH):
        rows = db.execute(_PULSES, {"ids": ids[start:start + PULSE_BATCH]}).all()
        pulses |= {sid: SessionPulse(count, stage, complete)
                   for sid, owner, count, stage, complete in rows if owners[sid] == owner}
    return pulses


def latest_reply_id(*, db: Session, owner: str, session_id: str) -> int:
    """Id of the session's newest complete interviewer message (0 if none): where a live view starts."""
    return db.execute(_LATEST_REPLY_ID, {"session_id": session_id, "owner": owner}).scalar() or 0


def list_replies_after(*, db: Session, owner: str, session_id: str, after_id: int) -> list[StoredReply]:
    """Complete interviewer messages with an id above `after_id`, oldest first, each with its answer."""
    rows = db.execute(_REPLIES_AFTER, {"session_id": session_id, "owner": owner, "after_id": after_id}).all()
    width = len(_PUBLIC_FIELDS)
    return [StoredReply(_public(row[:width]), _public(row[width:]) if row[width] is not None else None)
            for row in rows]


def _public(values: tuple) -> MessagePublic:
    return MessagePublic.model_validate(dict(zip(_PUBLIC_FIELDS, values, strict=True)))


def delete_session(*, db: Session, owner: str, session_id: str) -> None:
    """Remove the session and, by cascade, its messages, evaluations and report."""
    get_session(db=db, owner=owner, session_id=session_id)
    db.execute(update(UserState).where(UserState.last_session_id == session_id).values(last_session_id=None))
    db.execute(delete(InterviewSession).where(InterviewSession.id == session_id, InterviewSession.owner == owner))
    db.commit()
    db.expunge_all()


def open_session(*, db: Session, owner: str, session_id: str) -> None:
    """Record that the user opened this session (server-side, so a refresh or another device restores it)."""
    get_session(db=db, owner=owner, session_id=session_id)
    remember_last_session(db=db, owner=owner, session_id=session_id)
    db.commit()


# The user's last open session is read and written with Core statements only (never through the ORM identity map),
# so every reader sees the latest write; the write is one atomic upsert on both databases.
_USER_STATE = UserState.__table__
_LAST_OPEN = select(_USER_STATE.c.last_session_id).where(_USER_STATE.c.owner == bindparam("owner"))


def _upsert_last_open(insert_for_dialect) -> Any:
    statement = insert_for_dialect(_USER_STATE)
    return statement.on_conflict_do_update(
        index_elements=[_USER_STATE.c.owner],
        set_={"last_session_id": statement.excluded.last_session_id, "updated_at": statement.excluded.updated_at},
    )


_REMEMBER = {"sqlite": _upsert_last_open(sqlite_insert), "postgresql": _upsert_last_open(postgresql_insert)}


def _lock_statement(insert_for_dialect) -> Any:
    statement = insert_for_dialect(_USER_STATE)
    return statement.on_conflict_do_update(index_elements=[_USER_STATE.c.owner],
                                           set_={"updated_at": statement.excluded.updated_at})


_LOCK_OWNER = {"sqlite": _lock_statement(sqlite_insert), "postgresql": _lock_statement(postgresql_insert)}


def lock_owner(*, db: Session | Connection, owner: str) -> None:
    """Serialise `owner`'s session creation until the transaction ends: an upsert of their user_state row takes
    that row's lock on PostgreSQL and the write lock on SQLite, so a count that follows cannot be raced by another
    worker's insert (40 simultaneous starts with a limit of 5 store 5)."""
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    db.execute(_LOCK_OWNER[dialect], {"owner": owner, "last_session_id": None, "updated_at": utcnow()})


def last_open_session_id(*, db: Session | Connection, owner: str) -> str | None:
    return db.execute(_LAST_OPEN, {"owner": owner}).scalar()


def remember_last_session(*, db: Session | Connection, owner: str, session_id: str) -> None:
    """Record `session_id` as the user's open session (caller commits)."""
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    db.execute(_REMEMBER[dialect], {"owner": owner, "last_session_id": session_id, "updated_at": utcnow()})


def add_message(*, db: Session, session: InterviewSession, role: str, content: str, **fields) -> Message:
    """Append a message and keep the session's count and activity in step (caller commits)."""
    message = Message(session_id=session.id, role=role, content=content, stage=session.interview_stage, **fields)
    db.add(message)
    session.message_count += 1
    session.last_activity = message.created_at
    db.add(session)
    db.flush()
    return message


# Where the app lands on load: URL id if it is the user's, then the last open one, then the newest.
@dataclass(frozen=True)
class RestoreChoice:
    session_id: str | None
    source: str  # "url" | "last_open" | "newest" | "none"
    url_rejected: bool = False


def choose_session_to_open(*, db: Session, owner: str, requested_id: str | None) -> RestoreChoice:
    """The seed's initializeApp order; 'none' means the caller should create a new session."""
    rejected = False
    if requested_id:
        try:
            get_session(db=db, owner=owner, session_id=requested_id)
            return RestoreChoice(requested_id, "url")
        except SessionNotFound:
            rejected = True
    last = last_open_session_id(db=db, owner=owner)
    if last:
        return RestoreChoice(last, "last_open", rejected)
    newest = db.execute(
        select(InterviewSession.id).where(InterviewSession.owner == owner)
        .order_by(InterviewSession.last_activity.desc()).limit(1)
    ).scalar()
    if newest:
        return RestoreChoice(newest, "newest", rejected)
    return RestoreChoice(None, "none", rejected)
