"""SQLModel tables and the data-only shapes the services and API exchange."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, AwareDatetime, field_validator
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.config import get_settings

# The interview's stages in order: the one definition every module and client uses.
STAGES = ("welcome", "self_intro", "technical", "project", "behavioral", "candidate_questions", "wrap_up", "completed")
INTERVIEW_STAGES = STAGES[:-1]  # the seven a progress bar shows
QUESTION_STAGES = ("self_intro", "technical", "project", "behavioral", "candidate_questions", "wrap_up")
SCORED_STAGES = ("self_intro", "technical", "project", "behavioral")
# The report's five dimensions, in display order.
DIMENSIONS = ("knowledge", "communication", "logic", "project", "fit")
LEVELS = ("junior", "mid", "senior")
LANGUAGES = ("zh-CN", "en")
ROLES = ("assistant", "user")
MESSAGE_STATUSES = ("complete", "incomplete")
MAX_MESSAGE_CHARS = 4000
MAX_CLIENT_MESSAGE_ID = 64


def utcnow() -> datetime:
    """Aware UTC now (SQLModel's datetime columns store and return aware UTC on both databases)."""
    return datetime.now(UTC)


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# A moment as it leaves for a client: aware (a naive value is refused) and in UTC, so JSON carries "…Z".
UTCDateTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


def new_session_id() -> str:
    return str(uuid.uuid4())


# Characters no stored text may hold: C0 controls (a multi-line text keeps tab, newline and CR), DEL, C1
# controls and lone surrogates. PostgreSQL refuses NUL outright, XLSX and most viewers the rest: one rule, applied
# at every edge (REST bodies, WebSocket frames, the Streamlit forms, URL paths and queries), for both databases.
_FORBIDDEN_MULTILINE = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_FORBIDDEN_LINE = "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_FORBIDDEN = {True: re.compile(f"[{_FORBIDDEN_MULTILINE}]"), False: re.compile(f"[{_FORBIDDEN_LINE}]")}
# The same rules as JSON Schema patterns: allowed characters only, and at least one that is not whitespace. (Lone
# surrogates are left out of the patterns: valid UTF-8 JSON text cannot carry them, only \\u escapes can.)
_SCHEMA_LINE, _SCHEMA_MULTILINE = (chars.split("\\ud800")[0] for chars in (_FORBIDDEN_LINE, _FORBIDDEN_MULTILINE))
LINE_PATTERN = f"^[^{_SCHEMA_LINE}]*[^\\s{_SCHEMA_LINE}][^{_SCHEMA_LINE}]*$"
MULTILINE_PATTERN = f"^[^{_SCHEMA_MULTILINE}]*[^\\s{_SCHEMA_LINE}][^{_SCHEMA_MULTILINE}]*$"
OPTIONAL_LINE_PATTERN = f"^[^{_SCHEMA_LINE}]*$"
OPTIONAL_MULTILINE_PATTERN = f"^[^{_SCHEMA_MULTILINE}]*$"


def forbidden_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character `value` may not hold, as 'U+0000', or None when it is clean."""
    found = _FORBIDDEN[multiline].search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def check_characters(value: str, *, multiline: bool = False) -> str:
    """`value` unchanged, or ValueError naming the first control character or lone surrogate it holds."""
    if (code := forbidden_character(value, multiline=multiline)) is not None:
        allowed = "换行和制表符以外的" if multiline else ""
        fine = " (newline and tab are fine)" if multiline else ""
        raise ValueError(f"不能包含{allowed}控制字符或残缺的代理字符（{code}）/ must not contain control "
                         f"characters{fine} or lone surrogates ({code})")
    return value


def _text(value: Any, *, multiline: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be text / 需为文本")
    return check_characters(value, multiline=multiline).strip()


def _cascade_fk(target: str) -> Any:
    return Column(String(36), ForeignKey(target, ondelete="CASCADE"), nullable=False, index=True)


# What a candidate says about the interview they want: shared by the create shape and the table.
class InterviewSessionBase(SQLModel):
    candidate_name: str = Field(default="", max_length=60)
    target_position: str = Field(max_length=100)
    field: str = Field(default="通用", max_length=50)
    level: str = Field(default="mid", max_length=10)
    language: str = Field(default="zh-CN", max_length=10)
    job_description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# Input to create a session (the API's `POST /chat/start` body too), validated with messages a user can act on.
class InterviewSessionCreate(InterviewSessionBase):
    target_position: str = Field(min_length=1, max_length=100, schema_extra={
        "examples": ["React前端开发工程师"], "json_schema_extra": {"pattern": LINE_PATTERN}})
    field: str = Field(default="通用", max_length=50, schema_extra={
        "examples": ["前端开发"], "json_schema_extra": {"pattern": OPTIONAL_LINE_PATTERN}})
    candidate_name: str | None = Field(  # the API's JSON field is `name`
        default="", max_length=60, validation_alias=AliasChoices("name", "candidate_name"),
        description="candidate's name, used in the welcome",
        schema_extra={"json_schema_extra": {"pattern": OPTIONAL_LINE_PATTERN}})
    level: Literal[LEVELS] = "mid"  # type: ignore[valid-type]
    language: Literal[LANGUAGES] | None = Field(  # type: ignore[valid-type]
        default=None, description="default: the server's DEFAULT_LANGUAGE", schema_extra={"validate_default": True})
    job_description: str | None = Field(default=None, max_length=8000, schema_extra={
        "json_schema_extra": {"pattern": OPTIONAL_MULTILINE_PATTERN}})
    resume_id: str | None = Field(default=None, max_length=36,
                                  description="an uploaded resume (POST /resumes) to interview from",
                                  schema_extra={"json_schema_extra": {"pattern": OPTIONAL_LINE_PATTERN}})

    @field_validator("target_position", mode="before")
    @classmethod
    def _position(cls, value: str) -> str:
        value = _text(value)
        if not 1 <= len(value) <= 100:
            raise ValueError("target position must be 1–100 characters / 目标岗位需为 1–100 个字符")
        return value

    @field_validator("field", mode="before")
    @classmethod
    def _field(cls, value: Any) -> str:
        if value is None:
            raise ValueError("field must be text / 领域需为文本")
        value = _text(value) or "通用"
        if len(value) > 50:
            raise ValueError("field must be at most 50 characters / 领域最多 50 个字符")
        return value

    @field_validator("candidate_name", mode="before")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _text(value)
        if len(value) > 60:
            raise ValueError("name must be at most 60 characters / 姓名最多 60 个字符")
        return value

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value not in LEVELS:
            raise ValueError(f"unknown level {value!r}; use one of {', '.join(LEVELS)} / 未知级别")
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        if value is None:  # every client gets the deployment's default language
            return get_settings().DEFAULT_LANGUAGE
        if value not in LANGUAGES:
            raise ValueError(f"unknown language {value!r}; use one of {', '.join(LANGUAGES)} / 不支持的语言")
        return value

    @field_validator("resume_id", mode="before")
    @classmethod
    def _resume_id(cls, value: Any) -> str | None:
        return _text(value) or None

    @field_validator("job_description", mode="before")
    @classmethod
    def _jd(cls, value: str | None) -> str | None:
        value = _text(value, multiline=True)
        if len(value) > 8000:
            raise ValueError("job description must be at most 8000 characters / 职位描述最多 8000 个字符")
        return value or None


# One mock interview: its owner, what it is for, and where the workflow stands.
class InterviewSession(InterviewSessionBase, table=True):
    __tablename__ = "interview_session"
    __table_args__ = (Index("ix_interview_session_owner_activity", "owner", "last_activity"),)

    id: str = Field(default_factory=new_session_id, primary_key=True, max_length=36)
    owner: str = Field(max_length=64)
    title: str | None = Field(default=None, max_length=100)
    interview_stage: str = Field(default="welcome", max_length=32)
    is_complete: bool = False
    ended_early: bool = False
    plan: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    message_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    llm_model: str | None = Field(default=None, max_length=200)
    overall_score: int | None = None
    turn_lock_token: str | None = Field(default=None, max_length=36)
    turn_lock_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_activity: datetime = Field(default_factory=utcnow)

    @property
    def display_title(self) -> str:
        return self.title or self.target_position


# One chat message, the candidate's or the interviewer's.
class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("session_id", "client_message_id", name="uq_message_client_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    session_id: str = Field(sa_column=_cascade_fk("interview_session.id"))
    role: str = Field(max_length=16)
    content: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(default="answer", max_length=16)
    stage: str = Field(default="welcome", max_length=32)
    status: str = Field(default="complete", max_length=16)
    question_id: str | None = Field(default=None, max_length=64)
    client_message_id: str | None = Field(default=None, max_length=64)
    reply_to_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    model: str | None = Field(default=None, max_length=200)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


# The interviewer's private judgement of one answer; never shown during the interview.
class Evaluation(SQLModel, table=True):
    __tablename__ = "evaluation"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    session_id: str = Field(sa_column=_cascade_fk("interview_session.id"))
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False))
    question_id: str | None = Field(default=None, max_length=64)
    stage: str = Field(max_length=32)
    score: float = 0.0
    evidence: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    missed: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # One decision per key point: {"point", "status": covered | unclear | missed, "evidence": [quotes]}
    points: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    # What else the evaluator noticed: an asserted misconception, numbers and technologies the answer named ...
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    source: str = Field(default="offline", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


# One answer in the question drill, with what the evaluator made of it; the candidate's own history.
class DrillAttempt(SQLModel, table=True):
    __tablename__ = "drill_attempt"
    __table_args__ = (Index("ix_drill_attempt_owner_created", "owner", "created_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    owner: str = Field(max_length=64)
    question_id: str = Field(max_length=64)
    field: str = Field(max_length=20)
    language: str = Field(max_length=10)
    stage: str = Field(max_length=32)
    level: str = Field(max_length=10)
    answer: str = Field(sa_column=Column(Text, nullable=False))
    score: float = 0.0
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# The model use behind one turn or report: tokens, cost, time and guard hits, per user (daily budgets, staff
# analytics). Not tied to the session row: deleting interviews does not refill a user's daily budget.
class ModelUsage(SQLModel, table=True):
    __tablename__ = "model_usage"
    __table_args__ = (Index("ix_model_usage_owner_created", "owner", "created_at"),
                      Index("ix_model_usage_session", "session_id"))

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    owner: str = Field(max_length=64)
    session_id: str = Field(max_length=36)
    kind: str = Field(max_length=16)  # turn | report
    model: str | None = Field(default=None, max_length=200)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: int = 0
    calls: int = 0
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# The scored report written when an interview completes; regenerated in place.
class Report(SQLModel, table=True):
    __tablename__ = "report"

    session_id: str = Field(
        sa_column=Column(String(36), ForeignKey("interview_session.id", ondelete="CASCADE"), primary_key=True)
    )
    overall: int = 0
    dimensions: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    strengths: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    improvements: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    per_question: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = Field(default="offline", max_length=16)
    model: str | None = Field(default=None, max_length=200)
    # 简历声明核验: each resume claim with a number, substantiated or not by the interview ([] without a resume)
    resume_claims: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# An uploaded resume: its text and what was understood (the candidate may correct it). Owner-only; attached to the
# interview it was used for and deleted with it (ON DELETE CASCADE), or on request.
class Resume(SQLModel, table=True):
    __tablename__ = "resume"
    __table_args__ = (Index("ix_resume_owner_created", "owner", "created_at"),)

    id: str = Field(default_factory=new_session_id, primary_key=True, max_length=36)
    owner: str = Field(max_length=64)
    session_id: str | None = Field(
        default=None,
        sa_column=Column(String(36), ForeignKey("interview_session.id", ondelete="CASCADE"), nullable=True,
                         index=True),
    )
    filename: str = Field(default="", max_length=200)
    kind: str = Field(max_length=8)
    pages: int = 1
    language: str = Field(default="zh-CN", max_length=10)
    text: str = Field(sa_column=Column(Text, nullable=False))
    parsed: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source: str = Field(default="rules", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# Which session a user had open last, so a refresh or another device restores it.
class UserState(SQLModel, table=True):
    __tablename__ = "user_state"

    owner: str = Field(primary_key=True, max_length=64)
    last_session_id: str | None = Field(
        default=None,
        sa_column=Column(String(36), ForeignKey("interview_session.id", ondelete="SET NULL"), nullable=True),
    )
    updated_at: datetime = Field(default_factory=utcnow)


# A row of the sidebar / `GET /sessions`: everything a list needs, read in one query. A plain slotted dataclass, not
# a model (nor frozen): the list is built on every Streamlit rerun and a pydantic instance costs ~4 µs per row, a
# frozen one ~1 µs (bench/bench_sessions.py); pydantic still validates and documents it as an API field.
@dataclass(slots=True)
class SessionSummary:
    session_id: str
    title: str
    target_position: str
    field: str
    level: str
    language: str
    created_at: UTCDateTime
    last_activity: UTCDateTime
    message_count: int
    status: str
    interview_stage: str
    is_complete: bool
    duration_minutes: int


# A message as clients see it.
class MessagePublic(SQLModel):
    id: int
    role: str
    content: str
    created_at: UTCDateTime
    status: str
    stage: str
    kind: str = "answer"
    client_message_id: str | None = None


# A candidate's answer as every client sends it (REST body, WebSocket frame, Streamlit chat input).
class MessageCreate(SQLModel):
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS,
                         description=f"1–{MAX_MESSAGE_CHARS} characters after trimming; not blank, no control "
                                     "characters but newline and tab",
                         schema_extra={"json_schema_extra": {"pattern": MULTILINE_PATTERN}})
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=MAX_CLIENT_MESSAGE_ID,
        description="client-chosen id (a uuid); a retry with the same id returns the stored reply",
        schema_extra={"json_schema_extra": {"pattern": OPTIONAL_LINE_PATTERN}},
    )

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value: Any) -> str:
        text = _text(value, multiline=True)
        if not text:
            raise ValueError("消息不能为空 / message must not be empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValueError(
                f"消息最多 {MAX_MESSAGE_CHARS} 个字符 / message must be at most {MAX_MESSAGE_CHARS} characters")
        return text

    @field_validator("client_message_id", mode="before")
    @classmethod
    def _client_message_id(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_CLIENT_MESSAGE_ID:
            raise ValueError(f"client_message_id 需为 1–{MAX_CLIENT_MESSAGE_ID} 个字符 / "
                             f"client_message_id must be 1–{MAX_CLIENT_MESSAGE_ID} characters")
        return check_characters(value).strip() or None  # blank: the server picks one


# A key point an answer explained, with the candidate's words that show it.
class ReportPoint(SQLModel):
    point: str
    evidence: list[str] = Field(default_factory=list)


# A wrong claim an answer made: the sentence that asserts it and what is actually true.
class ReportMisconception(SQLModel):
    claim: str
    correction: str
    evidence: str = ""


# One question of a report: what was asked and answered, its score (0–5), the key points and the feedback.
# (Reports stored before key-point decisions have no covered, unclear or misconception: the defaults.)
class ReportQuestion(SQLModel):
    question_id: str | None = None
    stage: str
    question: str
    answer: str = ""
    score: float = Field(description="0–5")
    evidence: list[str] = Field(default_factory=list, description="quotes from the candidate's own answer")
    covered: list[ReportPoint] = Field(default_factory=list)
    unclear: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    misconception: ReportMisconception | None = None
    feedback: str = ""
    better_answer: str = ""

    @field_validator("missed", mode="before")
    @classmethod
    def _missed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


# One resume claim with a number and whether the interview substantiated it (简历声明核验).
class ResumeClaimPublic(SQLModel):
    project: str = ""
    claim: str
    status: Literal["substantiated", "not_substantiated"]
    reason: str = ""
    evidence: list[str] = Field(default_factory=list, description="the candidate's own words")


# The scored report of a finished interview as clients see it.
class ReportPublic(SQLModel):
    session_id: str
    overall: int = Field(ge=0, le=100)
    dimensions: dict[str, int] = Field(description=f"{', '.join(DIMENSIONS)}: each 0–100")
    strengths: list[str]
    improvements: list[str]
    per_question: list[ReportQuestion]
    summary: str
    source: str
    model: str | None = None
    resume_claims: list[ResumeClaimPublic] = Field(default_factory=list)
    created_at: UTCDateTime
    updated_at: UTCDateTime


# --- API shapes: what the REST routes answer with (the WebSocket frames reuse them) -------------------------

# A bearer token from the password flow.
class Token(SQLModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# The signed-in user.
class UserPublic(SQLModel):
    username: str
    name: str
    roles: list[str]


# A new interview and its welcome message.
class InterviewStarted(SQLModel):
    session_id: str
    message: str
    message_id: int
    created_at: UTCDateTime
    is_complete: bool
    interview_stage: str
    title: str


# A list row as core summarises it, plus the seed's Remix icon name.
@dataclass(slots=True)
class SessionPublic(SessionSummary):
    icon: str

    @classmethod
    def of(cls, summary: SessionSummary, *, icon: str, **more: Any) -> SessionPublic:
        """The summary's fields plus the icon (and, for a subclass, its own fields)."""
        return cls(*(getattr(summary, name) for name in SessionSummary.__dataclass_fields__), icon=icon, **more)


class SessionsPublic(SQLModel):
    sessions: list[SessionPublic]


# A session with its messages in order.
@dataclass(slots=True)
class SessionHistoryPublic(SessionPublic):
    messages: list[MessagePublic]


class SessionDeleted(SQLModel):
    session_id: str
    deleted: bool


# One turn: the stored answer (None when the interviewer ended the interview) and the interviewer's reply.
class TurnPublic(SQLModel):
    user_message: MessagePublic | None
    message: MessagePublic
    interview_stage: str
    is_complete: bool
    replayed: bool


# --- the question drill ------------------------------------------------------------------------------------------

# A drill question as the list shows it (no key points: those are the answer).
class DrillQuestionPublic(SQLModel):
    id: str
    field: str = Field(description="the bank's field key: frontend, backend, data, product, ai, qa, devops, general")
    language: str
    stage: str
    level: str
    question: str


class DrillQuestionsPublic(SQLModel):
    questions: list[DrillQuestionPublic]


# A drill answer as every client sends it.
class DrillAnswer(SQLModel):
    answer: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS,
                        description=f"1–{MAX_MESSAGE_CHARS} characters after trimming; not blank, no control "
                                    "characters but newline and tab",
                        schema_extra={"json_schema_extra": {"pattern": MULTILINE_PATTERN}})

    @field_validator("answer", mode="before")
    @classmethod
    def _answer(cls, value: Any) -> str:
        return MessageCreate._content(value)


# A key point the drill answer covered, and the candidate's own words that show it (a verbatim substring).
class DrillCovered(SQLModel):
    point: str
    evidence: str


# What the evaluator made of one drill answer, and the follow-up an interviewer would ask next.
class DrillResultPublic(SQLModel):
    question_id: str
    score: float = Field(ge=0, le=5)
    covered: list[DrillCovered]
    missed: list[str] = Field(description="key points the answer did not touch")
    unclear: list[str] = Field(default_factory=list, description="named but not explained: not clearly covered")
    flags: list[str]
    feedback: str
    better_answer: str = ""
    follow_up: str | None = None
    attempt_id: int | None = None
    created_at: datetime | None = None


# One answer in the candidate's drill history.
class DrillAttemptPublic(SQLModel):
    id: int
    question_id: str
    question: str
    field: str
    language: str
    stage: str
    level: str
    answer: str
    score: float
    covered: list[DrillCovered] = Field(default_factory=list)
    unclear: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    feedback: str = ""
    follow_up: str | None = None
    created_at: datetime


class DrillHistoryPublic(SQLModel):
    attempts: list[DrillAttemptPublic]


class DrillsDeleted(SQLModel):
    deleted: int
