"""THE interview service every client uses: start an interview, run a candidate turn, end early, reports.

A turn: validate → take a lease on the session row (one turn at a time, across processes) → commit the answer in
its own short transaction → evaluate, decide (server state machine) and stream the reply with no transaction open
→ store reply, evaluation and new state together and release the lease → report when the interview completes.
Retries are idempotent on (session, client_message_id).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import resume_store, sessions
from core.config import Settings, get_settings
from core.db import get_engine, session_scope
from core.interviewer import engine as interviewer
from core.interviewer import offline
from core.interviewer.engine import TurnContext, Usage
from core.interviewer.errors import InterviewerError
from core.interviewer.judge import AnswerEvaluation, normalise
from core.interviewer.workflow import (
    Decision,
    build_plan,
    current_item,
    end_early_decision,
    initial_state,
    plan_items,
    session_rng,
    with_content,
)
from core.interviewer.workflow import stage_progress as _stage_progress
from core.models import (
    SCORED_STAGES,
    Evaluation,
    InterviewSession,
    InterviewSessionCreate,
    Message,
    MessagePublic,
    ModelUsage,
    Report,
    utcnow,
)
from core.ratelimit import check_report_rate, check_turn_rate
from core.resume import ResumeParsed
from core.resume_interview import adapt_plan

log = logging.getLogger(__name__)
# A turn's lease on its session: short, so a crashed worker's session is free again within ~15 s; the keeper renews
# a running model turn's lease every 5 s (a third of it: one late or failed renewal never loses the lease).
LEASE_SECONDS = 15
LEASE_RENEW_EVERY_S = 5.0
_TABLE = InterviewSession.__table__


class TurnBusy(Exception):
    """Another turn for this session is running."""

    def __init__(self, message: str = "面试官正在回复上一条消息，请稍候 / busy") -> None:
        super().__init__(message)
        self.message = message


# The one error of a failed model step (the old name, kept for callers written against it).
TurnFailed = InterviewerError


class InterviewCompleted(Exception):
    """A message was sent to an interview that has ended."""

    def __init__(self, message: str = "面试已结束，可以查看报告 / the interview is complete") -> None:
        super().__init__(message)
        self.message = message


class ReportNotReady(Exception):
    """A report was asked for an interview that is not complete."""

    def __init__(self, message: str = "面试尚未结束，暂无报告 / the interview is not complete yet") -> None:
        super().__init__(message)
        self.message = message


# A piece of the interviewer's reply while it streams.
@dataclass
class TokenDelta:
    text: str


# The answer is stored and the model is working on the reply (yielded once, before the first TokenDelta, only
# when a model is configured): clients show "面试官正在思考…" with the seconds since `started` (time.monotonic()).
@dataclass
class Thinking:
    started: float


# The end of a turn: both stored messages and where the interview now stands.
@dataclass
class TurnResult:
    user_message: MessagePublic | None
    reply: MessagePublic
    interview_stage: str
    is_complete: bool
    replayed: bool = False


# A new interview and its welcome message (which asks for the self-introduction).
@dataclass
class StartResult:
    session: InterviewSession
    message: MessagePublic


def stage_progress(stage: str) -> tuple[int, int]:
    """(index 1..7, 7) for a progress indicator; completed → (7, 7)."""
    return _stage_progress(stage)


def _public(message: Message) -> MessagePublic:
    return MessagePublic.model_validate(message, from_attributes=True)


# -- start ---------------------------------------------------------------------------------------------------------


def start_interview(*, owner: str, info: dict | InterviewSessionCreate, engine: Engine | None = None,
                    settings: Settings | None = None) -> StartResult:
    """Create the session with its plan and welcome message in one transaction (templates only: never fails on a
    model); SessionLimitReached at MAX_SESSIONS_PER_USER."""
    from core.interviewer.bank import load_banks

    settings = settings or get_settings()
    engine = engine or get_engine()
    info = sessions.validate_create(info)
    now = utcnow()
    session = InterviewSession(owner=owner, **info.model_dump(exclude={"resume_id"}), created_at=now,
                               last_activity=now)
    resume = _owned_resume(owner, info.resume_id, engine)  # ResumeNotFound (404) for anyone else's
    parsed = ResumeParsed.model_validate(resume.parsed) if resume is not None else None
    plan = build_plan(banks=load_banks(), session_id=session.id, field=session.field,
                      target_position=session.target_position, level=session.level, language=session.language,
                      job_description=session.job_description, skills=parsed.skills if parsed else ())
    if parsed is not None:
        plan = adapt_plan(plan, parsed, session.language)
    first = plan_items(plan)[0]
    text = offline.compose_welcome(language=session.language, candidate_name=session.candidate_name,
                                   position=session.target_position, question=first["question"],
                                   rng=session_rng(session.id, "welcome"))
    session.plan, session.state, session.interview_stage = plan, initial_state(), first["stage"]
    session.message_count = 1  # the welcome
    with engine.begin() as conn:
        sessions.check_session_limit(db=conn, owner=owner, max_sessions=settings.MAX_SESSIONS_PER_USER)
        conn.execute(_INSERT_SESSION, {column.name: getattr(session, column.name) for column in _TABLE.columns})
        welcome = _insert_message(conn, session.id, now, role="assistant", content=text, kind="welcome",
                                  stage="welcome", question_id=first["id"])
        sessions.remember_last_session(db=conn, owner=owner, session_id=session.id)
        if resume is not None:
            resume_store.attach_to_session(conn, owner=owner, resume=resume, session_id=session.id, now=now)
    return StartResult(session=session, message=_row_public(welcome))


def _owned_resume(owner: str, resume_id: str | None, engine: Engine):
    if not resume_id:
        return None
    with session_scope(engine) as db:
        return resume_store.get_resume(db=db, owner=owner, resume_id=resume_id)


# -- the lease -----------------------------------------------------------------------------------------------------
# The turn's database work is a few Core statements (no ORM unit of work): it runs on every message of every client.


def _param(name: str, column: str):
    """A bound parameter typed like the session column (statements below are built once, executed per turn)."""
    return bindparam(name, type_=_TABLE.c[column].type)


_LEASE_FREE = or_(_TABLE.c.turn_lock_token.is_(None), _TABLE.c.turn_lock_until < _param("p_now", "turn_lock_until"))
_TAKE_LEASE = update(_TABLE).values(turn_lock_token=_param("p_token", "turn_lock_token"),
                                    turn_lock_until=_param("p_until", "turn_lock_until"))
_TAKE_ANY_LEASE = _TAKE_LEASE.where(_TABLE.c.id == _param("p_id", "id"), _LEASE_FREE)
_TAKE_OWN_LEASE = _TAKE_ANY_LEASE.where(_TABLE.c.owner == _param("p_owner", "owner"))
_HELD = (_TABLE.c.id == _param("p_id", "id"), _TABLE.c.turn_lock_token == _param("p_token", "turn_lock_token"))
_RENEW_LEASE = update(_TABLE).where(*_HELD).values(turn_lock_until=_param("p_until", "turn_lock_until"))
_CLEAR_LEASE = update(_TABLE).where(*_HELD).values(turn_lock_token=None, turn_lock_until=None)


def _lease_params(session_id: str, token: str, now: datetime, owner: str | None = None) -> dict:
    params = {"p_id": session_id, "p_token": token, "p_now": now, "p_until": now + timedelta(seconds=LEASE_SECONDS)}
    return params | ({"p_owner": owner} if owner is not None else {})


def _acquire_lease(db: Session | Connection, session_id: str, token: str) -> bool:
    """The atomic UPDATE ... WHERE the lease is free or expired; False when another turn holds it.
    (A turn takes it together with reading the session: see _prepare_turn.)"""
    return db.execute(_TAKE_ANY_LEASE, _lease_params(session_id, token, utcnow())).rowcount == 1


def _renew_lease(db: Session | Connection, session_id: str, token: str) -> None:
    params = {"p_id": session_id, "p_token": token, "p_until": utcnow() + timedelta(seconds=LEASE_SECONDS)}
    db.execute(_RENEW_LEASE, params)


def _clear_lease(db: Session | Connection, session_id: str, token: str) -> None:
    db.execute(_CLEAR_LEASE, {"p_id": session_id, "p_token": token})


def _release_lease(engine: Engine, session_id: str, token: str) -> None:
    try:
        with engine.begin() as conn:
            _clear_lease(conn, session_id, token)
    except Exception:  # the lease expires on its own; never mask the turn's real outcome
        log.exception("could not release the turn lease of session %s", session_id)


class _LeaseKeeper:
    """One daemon thread per process renews the lease of every running model turn each LEASE_RENEW_EVERY_S
    (a model call can outlast LEASE_SECONDS with its timeouts and retries); idle while no model turn runs."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._leases: dict[str, tuple[Engine, str]] = {}  # token → (engine, session id)
        self._thread: threading.Thread | None = None

    def hold(self, engine: Engine, session_id: str, token: str) -> None:
        with self._changed:
            was_idle = not self._leases
            self._leases[token] = (engine, session_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="turn-lease-keeper")
                self._thread.start()
            elif was_idle:
                self._changed.notify()

    def drop(self, token: str) -> None:
        with self._changed:
            if self._leases.pop(token, None) is not None and not self._leases:
                self._changed.notify()  # idle until the next model turn (which starts a fresh period)

    def held(self) -> int:
        with self._changed:
            return len(self._leases)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._leases:
                    self._changed.wait()
                # A round every LEASE_RENEW_EVERY_S while turns run; a lease taken meanwhile has LEASE_SECONDS.
                deadline = time.monotonic() + LEASE_RENEW_EVERY_S
                while self._leases and (left := deadline - time.monotonic()) > 0:
                    self._changed.wait(left)
                leases = list(self._leases.items())
            for token, (engine, session_id) in leases:
                try:
                    with engine.begin() as conn:
                        _renew_lease(conn, session_id, token)
                except Exception:
                    log.exception("could not renew the turn lease of session %s", session_id)


_keeper = _LeaseKeeper()


# -- a turn --------------------------------------------------------------------------------------------------------

_MSG = Message.__table__
_EVAL = Evaluation.__table__
_USAGE = ModelUsage.__table__


class _Row(NamedTuple):
    """A stored message as the turn reads it."""

    id: int
    role: str
    content: str
    kind: str
    stage: str
    status: str
    question_id: str | None
    client_message_id: str | None
    reply_to_id: int | None
    created_at: datetime


_SESSION_COLUMNS = [_TABLE.c[name] for name in (
    "language", "level", "field", "target_position", "candidate_name", "plan", "state", "interview_stage",
    "is_complete")]
_TAKE_LEASE_READ = _TAKE_OWN_LEASE.returning(*_SESSION_COLUMNS)
_READ_MESSAGES = (select(*(_MSG.c[name] for name in _Row._fields))
                  .where(_MSG.c.session_id == bindparam("p_id", type_=_MSG.c.session_id.type)).order_by(_MSG.c.id))
_INSERT_MESSAGE = insert(_MSG)
_INSERT_SESSION = insert(_TABLE)
_INSERT_EVALUATION = insert(_EVAL)
_COUNT_ANSWER = (update(_TABLE).where(_TABLE.c.id == _param("p_id", "id"))
                 .values(message_count=_TABLE.c.message_count + 1, last_activity=_param("p_now", "last_activity")))
_NEW_STATE = {"interview_stage": _param("p_stage", "interview_stage"), "state": _param("p_state", "state"),
              "is_complete": _param("p_complete", "is_complete"), "turn_lock_token": None, "turn_lock_until": None,
              "message_count": _TABLE.c.message_count + 1, "last_activity": _param("p_now", "last_activity")}
_STORE_STATE = update(_TABLE).where(*_HELD).values(**_NEW_STATE)  # also releases the lease
_STORE_STATE_AND_USAGE = update(_TABLE).where(*_HELD).values(
    **_NEW_STATE,
    prompt_tokens=func.coalesce(_TABLE.c.prompt_tokens, 0) + _param("p_prompt_tokens", "prompt_tokens"),
    completion_tokens=func.coalesce(_TABLE.c.completion_tokens, 0)
    + _param("p_completion_tokens", "completion_tokens"),
    cost_usd=func.coalesce(_TABLE.c.cost_usd, 0.0) + _param("p_cost_usd", "cost_usd"),
    llm_model=_param("p_model", "llm_model"),
)


@dataclass
class _Replay:
    user_message: MessagePublic
    reply: MessagePublic
    stage: str
    is_complete: bool


@dataclass
class _Prepared:
    token: str
    ctx: TurnContext
    user_message: MessagePublic
    owner: str = ""


def _row_public(row: _Row) -> MessagePublic:
    return MessagePublic(id=row.id, role=row.role, content=row.content, created_at=row.created_at,
                         status=row.status, stage=row.stage, kind=row.kind, client_message_id=row.client_message_id)


def _read_messages(conn: Connection, session_id: str) -> list[_Row]:
    return [_Row(*row) for row in conn.execute(_READ_MESSAGES, {"p_id": session_id})]


def _client_message(messages: list[_Row], client_message_id: str) -> _Row | None:
    return next((m for m in messages if m.client_message_id == client_message_id), None)


def _reply_to(messages: list[_Row], message_id: int) -> _Row | None:
    replies = [m for m in messages if m.reply_to_id == message_id and m.role == "assistant" and m.status == "complete"]
    return replies[-1] if replies else None


def _superseded(messages: list[_Row], message: _Row) -> bool:
    """A later interviewer message exists: the old answer was already taken into account."""
    return any(m.role == "assistant" and m.id > message.id and m.status == "complete" for m in messages)


def _replay_or_none(messages: list[_Row], message: _Row | None, stage: str, is_complete: bool) -> _Replay | None:
    if message is None or message.role != "user":
        return None
    reply = _reply_to(messages, message.id)
    if reply is None:
        return None
    return _Replay(_row_public(message), _row_public(reply), stage, is_complete)


def _prepare_turn(
    engine: Engine, owner: str, session_id: str, text: str, client_message_id: str
) -> _Replay | _Prepared:
    """Take the lease and commit the answer (own short transaction), or replay a turn that already has its reply.
    Any refusal rolls the transaction back, the lease with it."""
    token = str(uuid.uuid4())
    now = utcnow()
    with engine.begin() as conn:
        session = conn.execute(_TAKE_LEASE_READ, _lease_params(session_id, token, now, owner)).first()
        if session is None:
            return _not_leased(conn, owner, session_id, client_message_id)
        messages = _read_messages(conn, session_id)
        existing = _client_message(messages, client_message_id)
        if (replay := _replay_or_none(messages, existing, session.interview_stage, session.is_complete)) is not None:
            _clear_lease(conn, session_id, token)
            return replay
        if session.is_complete:
            raise InterviewCompleted()
        if existing is not None and _superseded(messages, existing):
            raise InterviewerError("superseded", "the answer was already taken into account by a later reply",
                                   retryable=False, language=session.language)
        if existing is None:
            item = current_item(session.plan or {}, session.state or {})
            existing = _insert_message(conn, session_id, now, role="user", content=text, kind="answer",
                                       stage=session.interview_stage, client_message_id=client_message_id,
                                       question_id=item["id"] if item else None)
            messages.append(existing)
            conn.execute(_COUNT_ANSWER, {"p_id": session_id, "p_now": now})
        ctx = _context(session_id, session, messages, existing)
    return _Prepared(token=token, ctx=ctx, user_message=_row_public(existing), owner=owner)


def _insert_message(conn: Connection, session_id: str, now: datetime, **values) -> _Row:
    """INSERT one message; its row as read back. `values` needs role, content, kind, stage; the rest may default."""
    values = {"status": "complete", "question_id": None, "client_message_id": None, "reply_to_id": None,
              **values, "session_id": session_id, "created_at": now}
    message_id = conn.execute(_INSERT_MESSAGE, values).inserted_primary_key[0]
    return _Row(**{name: values[name] for name in _Row._fields if name != "id"}, id=message_id)


def _not_leased(conn: Connection, owner: str, session_id: str, client_message_id: str) -> _Replay:
    """Why the lease was refused: not the owner's session, a finished turn to replay, a completed interview, or busy."""
    session = conn.execute(select(_TABLE.c.interview_stage, _TABLE.c.is_complete)
                           .where(_TABLE.c.id == session_id, _TABLE.c.owner == owner)).first()
    if session is None:
        raise sessions.SessionNotFound(session_id)
    messages = _read_messages(conn, session_id)
    replay = _replay_or_none(messages, _client_message(messages, client_message_id), session.interview_stage,
                             session.is_complete)
    if replay is not None:
        return replay
    if session.is_complete:
        raise InterviewCompleted()
    raise TurnBusy()


def _context(session_id: str, session, messages: list[_Row], user: _Row) -> TurnContext:
    from core.interviewer.bank import load_banks

    state = {**initial_state(), **(session.state or {})}
    plan = session.plan or {}
    item = current_item(plan, state)
    if item is not None:
        item = with_content(item, load_banks())
    stage = session.interview_stage
    answers = [m.content for m in messages
               if m.role == "user" and item is not None and m.question_id == item["id"] and m.stage == stage]
    if stage in ("candidate_questions", "wrap_up") or not answers:
        answers = [user.content]
    earlier = [m.content for m in messages if m.role == "user" and (item is None or m.question_id != item["id"])]
    return TurnContext(
        session_id=session_id, language=session.language, level=session.level, field=session.field,
        target_position=session.target_position, candidate_name=session.candidate_name, plan=plan,
        state=state, stage=stage, item=item, answers=answers,
        history=[(m.role, m.content) for m in messages if m.status == "complete"],
        used={normalise(m.content) for m in messages if m.role == "assistant"},
        turn=sum(1 for m in messages if m.role == "user"), earlier=earlier,
    )


def run_turn(*, owner: str, session_id: str, content: str, client_message_id: str | None = None,
             engine: Engine | None = None, settings: Settings | None = None,
             rate_limit: bool = True) -> Iterator[TokenDelta | TurnResult]:
    """Answer one candidate message: yields TokenDelta pieces of the reply, then exactly one TurnResult.

    Every client's turn counts against the owner's TURN_RATE_LIMIT (RateLimited); only server-side batch tools
    (demo seed, simulations, benchmarks) pass rate_limit=False.
    """
    message = sessions.validate_message(content, client_message_id)
    engine = engine or get_engine()
    settings = settings or get_settings()
    if rate_limit:
        check_turn_rate(owner, settings.TURN_RATE_LIMIT)
    prepared = _prepare_turn(engine, owner, session_id, message.content,
                             message.client_message_id or str(uuid.uuid4()))
    if isinstance(prepared, _Replay):
        yield TokenDelta(prepared.reply.content)
        yield TurnResult(prepared.user_message, prepared.reply, prepared.stage, prepared.is_complete, replayed=True)
        return
    uses_llm = interviewer.uses_llm(settings)
    if uses_llm:
        _keeper.hold(engine, session_id, prepared.token)
    released = False
    try:
        ctx = prepared.ctx
        if uses_llm:
            yield Thinking(time.monotonic())
            check_daily_tokens(owner=owner, engine=engine, settings=settings, language=ctx.language)
        evaluation, usage = interviewer.evaluate(ctx, settings)
        decision = interviewer.next_decision(ctx, evaluation)
        reply = interviewer.reply(ctx, decision, settings)
        for piece in reply:
            yield TokenDelta(piece)
        usage.merge(reply.usage)
        text = reply.text[:settings.INTERVIEWER_MAX_REPLY_CHARS]  # a stored reply never exceeds the cap
        result = _commit_turn(engine, prepared, decision, evaluation, text, usage)
        released = True
    except InterviewerError as exc:
        raise exc.in_language(prepared.ctx.language) from exc.__cause__
    finally:
        _keeper.drop(prepared.token)
        if not released:
            _release_lease(engine, session_id, prepared.token)
    if result.is_complete:
        _build_report_quietly(owner=owner, session_id=session_id, engine=engine, settings=settings)
    yield result


def _commit_turn(engine: Engine, prepared: _Prepared, decision: Decision, evaluation: AnswerEvaluation,
                 text: str, usage: Usage) -> TurnResult:
    """Store the new state (releasing the lease in the same UPDATE), the reply and the evaluation in one
    transaction; a lease lost meanwhile stores nothing."""
    ctx = prepared.ctx
    now = utcnow()
    params = {"p_id": ctx.session_id, "p_token": prepared.token, "p_stage": decision.stage,
              "p_state": dict(decision.state), "p_complete": decision.completes, "p_now": now}
    statement = _STORE_STATE
    if usage.calls:
        statement = _STORE_STATE_AND_USAGE
        params |= {"p_prompt_tokens": usage.prompt_tokens, "p_completion_tokens": usage.completion_tokens,
                   "p_cost_usd": usage.cost_usd or 0.0, "p_model": usage.model}
    with engine.begin() as conn:
        if conn.execute(statement, params).rowcount != 1:
            raise InterviewerError("busy", "the turn lease expired and another request took over",
                                   language=ctx.language)
        reply = _insert_message(
            conn, ctx.session_id, now, role="assistant", content=text, kind=decision.kind,
            stage="wrap_up" if decision.completes else decision.stage,
            question_id=decision.item["id"] if decision.item else None, reply_to_id=prepared.user_message.id,
            **_usage_fields(usage),
        )
        scored = ctx.stage in SCORED_STAGES
        conn.execute(_INSERT_EVALUATION, {
            "session_id": ctx.session_id, "message_id": prepared.user_message.id,
            "question_id": ctx.item["id"] if ctx.item else None, "stage": ctx.stage,
            "score": evaluation.score if scored else 0.0, "evidence": evaluation.evidence,
            "missed": evaluation.missed if scored else [], "flags": evaluation.flags, "source": evaluation.source,
            "points": [p.public() for p in evaluation.points] if scored else [],
            "details": {**evaluation.details(), **_decision_details(decision),
                        **({"llm": usage.details()} if usage.details() else {})}, "created_at": now,
        })
        if usage.calls:
            _record_usage(conn, owner=prepared.owner, session_id=ctx.session_id, kind="turn", usage=usage, now=now)
    return TurnResult(prepared.user_message, _row_public(reply), decision.stage, decision.completes)


def _record_usage(conn: Connection, *, owner: str, session_id: str, kind: str, usage: Usage, now: datetime) -> None:
    conn.execute(insert(_USAGE), {
        "owner": owner, "session_id": session_id, "kind": kind, "model": usage.model,
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd, "latency_ms": usage.latency_ms, "calls": usage.calls,
        "details": usage.details(), "created_at": now,
    })


def tokens_used_today(*, owner: str, engine: Engine) -> int:
    """Prompt and completion tokens of `owner`'s model calls since 00:00 UTC."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    total = func.coalesce(func.sum(_USAGE.c.prompt_tokens + _USAGE.c.completion_tokens), 0)
    with engine.connect() as conn:
        return int(conn.execute(select(total).where(_USAGE.c.owner == owner, _USAGE.c.created_at >= midnight))
                   .scalar_one())


# What the model cost one interview: for staff on the report page.
@dataclass
class InterviewUsage:
    calls: int
    tokens: int
    cost_usd: float | None
    seconds: float


def interview_usage(*, owner: str, session_id: str, engine: Engine | None = None) -> InterviewUsage:
    """The model calls, tokens, cost (None when no call was priced) and model time of one of `owner`'s sessions."""
    engine = engine or get_engine()
    with session_scope(engine) as db:
        sessions.get_session(db=db, owner=owner, session_id=session_id)
    query = select(func.coalesce(func.sum(_USAGE.c.calls), 0),
                   func.coalesce(func.sum(_USAGE.c.prompt_tokens + _USAGE.c.completion_tokens), 0),
                   func.sum(_USAGE.c.cost_usd), func.coalesce(func.sum(_USAGE.c.latency_ms), 0)
                   ).where(_USAGE.c.session_id == session_id, _USAGE.c.owner == owner)
    with engine.connect() as conn:
        calls, tokens, cost, ms = conn.execute(query).one()
    return InterviewUsage(int(calls), int(tokens), float(cost) if cost is not None else None, round(ms / 1000, 1))


def check_daily_tokens(*, owner: str, engine: Engine, settings: Settings, language: str) -> None:
    """InterviewerError("budget_exhausted") once `owner` has used INTERVIEWER_DAILY_TOKENS today (0: no budget).
    A call already running may finish past the budget; the next one is refused."""
    budget = settings.INTERVIEWER_DAILY_TOKENS
    if budget and tokens_used_today(owner=owner, engine=engine) >= budget:
        raise InterviewerError("budget_exhausted", f"{owner} used the daily budget of {budget} tokens",
                               retryable=False, language=language)


def _decision_details(decision: Decision) -> dict:
    """What the interviewer did with the answer (kept with its evaluation, for reports and analysis)."""
    details: dict = {"next": decision.action}
    if decision.offer is not None:
        details |= {"reason": decision.offer.reason, "said": decision.offer.said}
    return details


def _usage_fields(usage: Usage) -> dict:
    if not usage.calls:
        return {}
    return {"model": usage.model, "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd, "latency_ms": usage.latency_ms}


def _add_usage(session: InterviewSession, usage: Usage) -> None:
    if not usage.calls:
        return
    session.prompt_tokens = (session.prompt_tokens or 0) + usage.prompt_tokens
    session.completion_tokens = (session.completion_tokens or 0) + usage.completion_tokens
    session.cost_usd = (session.cost_usd or 0.0) + (usage.cost_usd or 0.0)
    session.llm_model = usage.model


# -- ending --------------------------------------------------------------------------------------------------------


def end_interview(*, owner: str, session_id: str, engine: Engine | None = None,
                  settings: Settings | None = None) -> TurnResult:
    """End now: closing message, stage completed, then the report (a report failure leaves it retryable)."""
    engine = engine or get_engine()
    settings = settings or get_settings()
    with session_scope(engine) as db:
        session = sessions.get_session(db=db, owner=owner, session_id=session_id)
        if session.is_complete:
            closing = db.execute(
                select(Message).where(Message.session_id == session_id, Message.role == "assistant")
                .order_by(Message.id.desc()).limit(1)
            ).scalars().first()
            result = TurnResult(None, _public(closing), session.interview_stage, True, replayed=True)
        else:
            result = _close_now(db, session)
    if not result.replayed or get_report(owner=owner, session_id=session_id, engine=engine) is None:
        _build_report_quietly(owner=owner, session_id=session_id, engine=engine, settings=settings)
    return result


def _close_now(db: Session, session: InterviewSession) -> TurnResult:
    token = str(uuid.uuid4())
    if not _acquire_lease(db, session.id, token):
        db.rollback()
        raise TurnBusy()
    db.refresh(session)
    decision = end_early_decision(session.plan or {}, session.state or {})
    used = {normalise(c) for c in db.execute(
        select(Message.content).where(Message.session_id == session.id, Message.role == "assistant")).scalars()}
    turn = session.message_count
    text = offline.compose_reply(decision=decision, language=session.language, used=used, ended_early=True,
                                 rng=session_rng(session.id, "end", turn))
    session.interview_stage = "wrap_up"
    message = sessions.add_message(db=db, session=session, role="assistant", content=text, kind="closing")
    session.interview_stage = "completed"
    session.is_complete = True
    session.ended_early = True
    session.state = dict(decision.state)
    db.add(session)
    db.flush()
    _clear_lease(db, session.id, token)
    db.commit()
    return TurnResult(None, _public(message), "completed", True)


# -- reports -------------------------------------------------------------------------------------------------------


def _build_report_quietly(**kwargs) -> None:
    try:
        generate_report(regenerate=True, count_regeneration=False, **kwargs)
    except Exception:
        log.exception("report generation failed for session %s; it can be retried", kwargs.get("session_id"))


def generate_report(*, owner: str, session_id: str, regenerate: bool = False, engine: Engine | None = None,
                    settings: Settings | None = None, count_regeneration: bool = True) -> Report:
    """The stored report (built now if missing or `regenerate`); ReportNotReady before the interview ends.
    With a model, rebuilding an existing report counts against the owner's REPORT_RATE_LIMIT (RateLimited), and
    every model report against INTERVIEWER_DAILY_TOKENS (InterviewerError "budget_exhausted")."""
    from core.interviewer.report import collect_input

    engine = engine or get_engine()
    settings = settings or get_settings()
    with session_scope(engine) as db:
        session = sessions.get_session(db=db, owner=owner, session_id=session_id)
        if not session.is_complete:
            raise ReportNotReady()
        existing = db.get(Report, session_id)
        if existing is not None and not regenerate:
            return existing
        inp = collect_input(db=db, session=session)
    if interviewer.uses_llm(settings):
        if existing is not None and count_regeneration:
            check_report_rate(owner, settings.REPORT_RATE_LIMIT)
        check_daily_tokens(owner=owner, engine=engine, settings=settings, language=inp.language)
    try:
        data, usage = interviewer.build_report(inp, settings)
    except InterviewerError as exc:
        raise exc.in_language(inp.language) from exc.__cause__
    return _store_report(engine, session_id, data, usage, owner=owner)


def _store_report(engine: Engine, session_id: str, data, usage: Usage, *, owner: str) -> Report:
    fields = {"overall": data.overall, "dimensions": data.dimensions, "strengths": data.strengths,
              "improvements": data.improvements, "per_question": data.per_question, "summary": data.summary,
              "source": data.source, "model": data.model, "resume_claims": data.resume_claims,
              "updated_at": utcnow()}
    for attempt in range(2):
        with session_scope(engine) as db:
            report = db.get(Report, session_id)
            if report is None:
                report = Report(session_id=session_id, **fields)
            else:
                for key, value in fields.items():
                    setattr(report, key, value)
            db.add(report)
            session = db.get(InterviewSession, session_id)
            session.overall_score = data.overall
            _add_usage(session, usage)
            db.add(session)
            if usage.calls:
                db.add(ModelUsage(owner=owner, session_id=session_id, kind="report", model=usage.model,
                                  prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                                  cost_usd=usage.cost_usd, latency_ms=usage.latency_ms, calls=usage.calls,
                                  details=usage.details()))
            try:
                db.commit()
                return report
            except IntegrityError:  # a concurrent first insert won: update that row instead
                db.rollback()
                if attempt:
                    raise
    raise AssertionError("unreachable")


def get_report(*, owner: str, session_id: str, engine: Engine | None = None) -> Report | None:
    with session_scope(engine or get_engine()) as db:
        sessions.get_session(db=db, owner=owner, session_id=session_id)
        return db.get(Report, session_id)


def pending_answer(*, owner: str, session_id: str, engine: Engine | None = None) -> MessagePublic | None:
    """The last candidate message that has no complete reply (what a 重试 button resends), else None."""
    with session_scope(engine or get_engine()) as db:
        session = sessions.get_session(db=db, owner=owner, session_id=session_id)
        if session.is_complete:
            return None
        last = db.execute(
            select(Message).where(Message.session_id == session_id, Message.role == "user")
            .order_by(Message.id.desc()).limit(1)
        ).scalars().first()
        if last is None:
            return None
        answered = db.execute(
            select(Message.id).where(Message.reply_to_id == last.id, Message.role == "assistant",
                                     Message.status == "complete").limit(1)
        ).first()
        if answered is not None:
            return None
        return _public(last)
