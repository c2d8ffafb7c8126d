"""THE interview service every client uses: start an interview, run a candidate turn, end early, reports.

A turn: validate → take a lease on the session row (one turn at a time, across processes) → commit the answer in
its own short transaction → evaluate, decide (server state machine) and stream the reply with no transaction open
→ store reply, evaluation and new state together and release the lease → report when the interview completes.
Retries are idempotent on (session, client_message_id).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import sessions
from core.config import Settings, get_settings
from core.db import get_engine, session_scope
from core.interviewer import engine as interviewer
from core.interviewer import offline
from core.interviewer.engine import InterviewerUnavailable, TurnContext, Usage
from core.interviewer.offline import AnswerEvaluation, normalise
from core.interviewer.workflow import (
    SCORED_STAGES,
    Decision,
    build_plan,
    current_item,
    decide,
    end_early_decision,
    initial_state,
    plan_items,
    session_rng,
)
from core.interviewer.workflow import stage_progress as _stage_progress
from core.models import (
    Evaluation,
    InterviewSession,
    InterviewSessionCreate,
    Message,
    MessagePublic,
    Report,
    utcnow,
)

log = logging.getLogger(__name__)
LEASE_SECONDS = 60
LEASE_RENEW_EVERY_S = 20.0
MAX_CLIENT_MESSAGE_ID = 64
_TABLE = InterviewSession.__table__


class TurnBusy(Exception):
    """Another turn for this session is running."""

    def __init__(self, message: str = "面试官正在回复上一条消息，请稍候 / busy") -> None:
        super().__init__(message)
        self.message = message


class TurnFailed(Exception):
    """The reply could not be produced; the answer is stored and the turn can be retried when `retryable`."""

    def __init__(self, code: str, message: str, retryable: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable


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
    """Create the session, build its plan and store the welcome message (templates only: never fails on a model)."""
    from core.interviewer.bank import load_banks

    settings = settings or get_settings()
    engine = engine or get_engine()
    with session_scope(engine) as db:
        session = sessions.create_session(db=db, owner=owner, info=info, max_sessions=settings.MAX_SESSIONS_PER_USER)
        try:
            plan = build_plan(banks=load_banks(), session_id=session.id, field=session.field,
                              target_position=session.target_position, level=session.level,
                              language=session.language, job_description=session.job_description)
            first = plan_items(plan)[0]
            text = offline.compose_welcome(language=session.language, candidate_name=session.candidate_name,
                                           position=session.target_position, question=first["question"],
                                           rng=session_rng(session.id, "welcome"))
            session.plan, session.state = plan, initial_state()
            message = sessions.add_message(db=db, session=session, role="assistant", content=text, kind="welcome",
                                           question_id=first["id"])
            session.interview_stage = first["stage"]
            db.add(session)
            db.commit()
        except Exception:
            db.rollback()
            sessions.delete_session(db=db, owner=owner, session_id=session.id)
            raise
        return StartResult(session=session, message=_public(message))


# -- the lease -----------------------------------------------------------------------------------------------------


def _acquire_lease(db: Session, session_id: str, token: str, owner: str | None = None) -> bool:
    """The atomic UPDATE ... WHERE the lease is free or expired; False when another turn holds it."""
    now = utcnow()
    conditions = [_TABLE.c.id == session_id,
                  or_(_TABLE.c.turn_lock_token.is_(None), _TABLE.c.turn_lock_until < now)]
    if owner is not None:
        conditions.append(_TABLE.c.owner == owner)
    result = db.execute(
        update(_TABLE).where(*conditions)
        .values(turn_lock_token=token, turn_lock_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return result.rowcount == 1


def _renew_lease(db: Session, session_id: str, token: str) -> bool:
    result = db.execute(
        update(_TABLE).where(_TABLE.c.id == session_id, _TABLE.c.turn_lock_token == token)
        .values(turn_lock_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
    )
    return result.rowcount == 1


def _clear_lease(db: Session, session_id: str, token: str) -> None:
    db.execute(
        update(_TABLE).where(_TABLE.c.id == session_id, _TABLE.c.turn_lock_token == token)
        .values(turn_lock_token=None, turn_lock_until=None)
    )


def _release_lease(engine: Engine, session_id: str, token: str) -> None:
    try:
        with session_scope(engine) as db:
            _clear_lease(db, session_id, token)
            db.commit()
    except Exception:  # the lease expires on its own; never mask the turn's real outcome
        log.exception("could not release the turn lease of session %s", session_id)


class _LeaseKeeper:
    """Renews the lease in the background while a slow (model) turn runs."""

    def __init__(self, engine: Engine, session_id: str, token: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine, session_id, token), daemon=True,
                                        name=f"turn-lease-{session_id[:8]}")
        self._thread.start()

    def _run(self, engine: Engine, session_id: str, token: str) -> None:
        while not self._stop.wait(LEASE_RENEW_EVERY_S):
            try:
                with session_scope(engine) as db:
                    _renew_lease(db, session_id, token)
                    db.commit()
            except Exception:
                log.exception("could not renew the turn lease of session %s", session_id)

    def stop(self) -> None:
        self._stop.set()


# -- a turn --------------------------------------------------------------------------------------------------------


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


def _client_message(db: Session, session_id: str, client_message_id: str) -> Message | None:
    return db.execute(
        select(Message).where(Message.session_id == session_id, Message.client_message_id == client_message_id)
    ).scalars().first()


def _reply_to(db: Session, message_id: int) -> Message | None:
    return db.execute(
        select(Message).where(Message.reply_to_id == message_id, Message.role == "assistant",
                              Message.status == "complete").order_by(Message.id.desc()).limit(1)
    ).scalars().first()


def _superseded(db: Session, message: Message) -> bool:
    """A later interviewer message exists: the old answer was already taken into account."""
    later = db.execute(
        select(Message.id).where(Message.session_id == message.session_id, Message.role == "assistant",
                                 Message.id > message.id, Message.status == "complete").limit(1)
    ).first()
    return later is not None


def _replay_or_none(db: Session, session: InterviewSession, message: Message | None) -> _Replay | None:
    if message is None or message.role != "user":
        return None
    reply = _reply_to(db, message.id)
    if reply is None:
        return None
    return _Replay(_public(message), _public(reply), session.interview_stage, session.is_complete)


def _prepare_turn(
    engine: Engine, owner: str, session_id: str, text: str, client_message_id: str
) -> _Replay | _Prepared:
    """Take the lease and commit the answer (own short transaction), or replay a turn that already has its reply."""
    token = str(uuid.uuid4())
    with session_scope(engine) as db:
        if not _acquire_lease(db, session_id, token, owner=owner):
            db.rollback()
            return _not_leased(db, owner, session_id, client_message_id)
        try:
            session = sessions.get_session(db=db, owner=owner, session_id=session_id)
            existing = _client_message(db, session_id, client_message_id)
            if (replay := _replay_or_none(db, session, existing)) is not None:
                _clear_lease(db, session_id, token)
                db.commit()
                return replay
            if session.is_complete:
                raise InterviewCompleted()
            if existing is not None and _superseded(db, existing):
                raise TurnFailed("superseded", "这条回答已在后续对话中处理 / this answer was already handled", False)
            item = current_item(session.plan or {}, session.state or {})
            user = existing or sessions.add_message(
                db=db, session=session, role="user", content=text, kind="answer",
                client_message_id=client_message_id, question_id=item["id"] if item else None,
            )
            ctx = _context(db, session, user)
            db.commit()
        except BaseException:
            db.rollback()
            _clear_lease(db, session_id, token)
            db.commit()
            raise
        return _Prepared(token=token, ctx=ctx, user_message=_public(user))


def _not_leased(db: Session, owner: str, session_id: str, client_message_id: str) -> _Replay:
    """Why the lease was refused: not the owner's session, a finished turn to replay, a completed interview, or busy."""
    session = sessions.get_session(db=db, owner=owner, session_id=session_id)
    replay = _replay_or_none(db, session, _client_message(db, session_id, client_message_id))
    if replay is not None:
        return replay
    if session.is_complete:
        raise InterviewCompleted()
    raise TurnBusy()


def _context(db: Session, session: InterviewSession, user: Message) -> TurnContext:
    messages = db.execute(
        select(Message.role, Message.content, Message.question_id, Message.stage, Message.status)
        .where(Message.session_id == session.id).order_by(Message.id)
    ).all()
    state = {**initial_state(), **(session.state or {})}
    item = current_item(session.plan or {}, state)
    stage = session.interview_stage
    answers = [m.content for m in messages
               if m.role == "user" and item is not None and m.question_id == item["id"] and m.stage == stage]
    if stage in ("candidate_questions", "wrap_up") or not answers:
        answers = [user.content]
    return TurnContext(
        session_id=session.id, language=session.language, level=session.level, field=session.field,
        target_position=session.target_position, candidate_name=session.candidate_name, plan=session.plan or {},
        state=state, stage=stage, item=item, answers=answers,
        history=[(m.role, m.content) for m in messages if m.status == "complete"],
        used={normalise(m.content) for m in messages if m.role == "assistant"},
        turn=sum(1 for m in messages if m.role == "user"),
    )


def run_turn(*, owner: str, session_id: str, content: str, client_message_id: str | None = None,
             engine: Engine | None = None, settings: Settings | None = None) -> Iterator[TokenDelta | TurnResult]:
    """Answer one candidate message: yields TokenDelta pieces of the reply, then exactly one TurnResult."""
    text = sessions.validate_message(content)
    client_message_id = (client_message_id or "").strip() or str(uuid.uuid4())
    if len(client_message_id) > MAX_CLIENT_MESSAGE_ID:
        raise sessions.InvalidInput("client_message_id 最多 64 个字符 / client_message_id is at most 64 characters")
    engine = engine or get_engine()
    settings = settings or get_settings()
    prepared = _prepare_turn(engine, owner, session_id, text, client_message_id)
    if isinstance(prepared, _Replay):
        yield TokenDelta(prepared.reply.content)
        yield TurnResult(prepared.user_message, prepared.reply, prepared.stage, prepared.is_complete, replayed=True)
        return
    keeper = _LeaseKeeper(engine, session_id, prepared.token) if interviewer.uses_llm(settings) else None
    released = False
    try:
        ctx = prepared.ctx
        evaluation, usage = interviewer.evaluate(ctx, settings)
        asked = ctx.stage == "candidate_questions" and offline.asks_a_question(ctx.latest)
        decision = decide(plan=ctx.plan, state=ctx.state, stage=ctx.stage, evaluation=evaluation,
                          candidate_asked=asked)
        reply = interviewer.reply(ctx, decision, settings)
        for piece in reply:
            yield TokenDelta(piece)
        _merge_usage(usage, reply.usage)
        result = _commit_turn(engine, prepared, decision, evaluation, reply.text, usage)
        released = True
    except InterviewerUnavailable as exc:
        raise TurnFailed(exc.code, exc.message, exc.retryable) from exc
    finally:
        if keeper is not None:
            keeper.stop()
        if not released:
            _release_lease(engine, session_id, prepared.token)
    if result.is_complete:
        _build_report_quietly(owner=owner, session_id=session_id, engine=engine, settings=settings)
    yield result


def _merge_usage(total: Usage, part: Usage) -> None:
    if not part.calls:
        return
    total.model = part.model
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    if part.cost_usd is not None:
        total.cost_usd = (total.cost_usd or 0.0) + part.cost_usd
    total.latency_ms += part.latency_ms
    total.calls += part.calls


def _commit_turn(engine: Engine, prepared: _Prepared, decision: Decision, evaluation: AnswerEvaluation,
                 text: str, usage: Usage) -> TurnResult:
    """Store the reply, the evaluation and the new state in one transaction, and release the lease."""
    ctx = prepared.ctx
    with session_scope(engine) as db:
        if not _renew_lease(db, ctx.session_id, prepared.token):
            db.rollback()
            raise TurnFailed("busy", "回复超时被其他请求接管，请刷新 / the turn lease expired, please reload", True)
        session = db.get(InterviewSession, ctx.session_id)
        item_id = ctx.item["id"] if ctx.item else None
        db.add(Evaluation(
            session_id=ctx.session_id, message_id=prepared.user_message.id, question_id=item_id, stage=ctx.stage,
            score=evaluation.score if ctx.stage in SCORED_STAGES else 0.0, evidence=evaluation.evidence,
            missed=evaluation.missed if ctx.stage in SCORED_STAGES else [], flags=evaluation.flags,
            source=evaluation.source,
        ))
        session.interview_stage = "wrap_up" if decision.completes else decision.stage
        reply = sessions.add_message(
            db=db, session=session, role="assistant", content=text, kind=decision.kind,
            question_id=decision.item["id"] if decision.item else None, reply_to_id=prepared.user_message.id,
            status="complete", **_usage_fields(usage),
        )
        session.interview_stage = decision.stage
        session.state = dict(decision.state)
        session.is_complete = decision.completes
        session.turn_lock_token = session.turn_lock_until = None  # released in the same UPDATE
        _add_usage(session, usage)
        db.add(session)
        db.commit()
        return TurnResult(prepared.user_message, _public(reply), session.interview_stage, session.is_complete)


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
        generate_report(regenerate=True, **kwargs)
    except Exception:
        log.exception("report generation failed for session %s; it can be retried", kwargs.get("session_id"))


def generate_report(*, owner: str, session_id: str, regenerate: bool = False, engine: Engine | None = None,
                    settings: Settings | None = None) -> Report:
    """The stored report (built now if missing or `regenerate`); ReportNotReady before the interview ends."""
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
    try:
        data, usage = interviewer.build_report(inp, settings)
    except InterviewerUnavailable as exc:
        raise TurnFailed(exc.code, exc.message, exc.retryable) from exc
    return _store_report(engine, session_id, data, usage)


def _store_report(engine: Engine, session_id: str, data, usage: Usage) -> Report:
    fields = {"overall": data.overall, "dimensions": data.dimensions, "strengths": data.strengths,
              "improvements": data.improvements, "per_question": data.per_question, "summary": data.summary,
              "source": data.source, "model": data.model, "updated_at": utcnow()}
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
        if last is None or _reply_to(db, last.id) is not None:
            return None
        return _public(last)
