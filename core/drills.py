"""The question drill (like Google Interview Warmup): one bank question at a time, answered and judged at once.

The same evaluator and follow-up logic as interviews: the key-point decisions with the candidate's own words, what
they could add, and the follow-up an interviewer would ask next. Attempts are stored per user (a history the
candidate sees and deletes) and count against the same per-user TURN_RATE_LIMIT as interview turns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from core.config import Settings, get_settings
from core.db import get_engine, session_scope
from core.interviewer import engine as interviewer
from core.interviewer import offline, report
from core.interviewer.bank import LEVELS, load_banks
from core.interviewer.engine import TurnContext
from core.interviewer.workflow import initial_state, question_item, session_rng
from core.models import QUESTION_STAGES, SCORED_STAGES, DrillAnswer, DrillAttempt, DrillAttemptPublic, utcnow
from core.ratelimit import check_turn_rate
from core.sessions import InvalidInput, readable_error

DRILL_STAGES = tuple(s for s in QUESTION_STAGES if s in SCORED_STAGES)
MAX_HISTORY = 200  # attempts listed at most (newest first)
MAX_ROW_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


class QuestionNotFound(LookupError):
    """No bank question has this id (or it is not a drillable stage)."""

    def __init__(self, question_id: str) -> None:
        super().__init__("题目不存在 / no such question")
        self.question_id = question_id


class DrillNotFound(LookupError):
    """No drill attempt with this id belongs to the user."""

    def __init__(self) -> None:
        super().__init__("练习记录不存在 / no such drill attempt")


# A question as the drill list shows it (no key points: those are the answer).
@dataclass(frozen=True)
class DrillQuestion:
    id: str
    field: str
    language: str
    stage: str
    level: str
    question: str


# What the evaluator made of one drill answer.
@dataclass
class DrillResult:
    question_id: str
    score: float
    covered: list[dict] = field(default_factory=list)  # {"point", "evidence"}: evidence is the candidate's words
    unclear: list[str] = field(default_factory=list)  # named but not explained: "not clearly covered"
    missed: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    feedback: str = ""
    better_answer: str = ""
    follow_up: str | None = None
    attempt_id: int | None = None
    created_at: object = None


def list_questions(*, field: str, language: str, stage: str | None = None,
                   level: str | None = None) -> list[DrillQuestion]:
    """Drillable questions of a field (bank key or free text) in a language, optionally one stage and level."""
    banks = load_banks()
    key = banks.field_key(field) if field else "general"
    if stage is not None and stage not in DRILL_STAGES:
        stages = ", ".join(DRILL_STAGES)
        raise InvalidInput(f"stage 需为 {stages} 之一 / stage must be one of {stages}")
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"level 需为 {', '.join(LEVELS)} 之一 / level must be one of {', '.join(LEVELS)}")
    out = [_listed(q) for drill_stage in ([stage] if stage else DRILL_STAGES)
           for q in banks.questions(key, language, drill_stage, level=level)]
    return list({q.id: q for q in out}.values())


def get_question(question_id: str) -> DrillQuestion:
    """One drillable question as the list shows it; QuestionNotFound for an unknown or non-drillable id."""
    return _listed(_question(question_id))


def _listed(question) -> DrillQuestion:
    return DrillQuestion(question.id, _bank_of(question.id), _language_of(question.id), question.stage,
                         question.level, question.question)


def _bank_of(question_id: str) -> str:
    return question_id.split("-", 1)[0]


def _question(question_id: str):
    try:
        question = load_banks().get(question_id)
    except KeyError:
        raise QuestionNotFound(question_id) from None
    if question.stage not in DRILL_STAGES:
        raise QuestionNotFound(question_id)
    return question


def _language_of(question_id: str) -> str:
    return "en" if "-en-" in question_id else "zh-CN"


def evaluate(*, owner: str, question_id: str, answer: object, engine: Engine | None = None,
             settings: Settings | None = None) -> DrillResult:
    """Judge one drill answer, store it in the user's history and return what was covered, what could be added and
    the follow-up an interviewer would ask. QuestionNotFound, InvalidInput, RateLimited."""
    settings = settings or get_settings()
    question = _question(question_id)
    text = validate_answer(answer)
    check_turn_rate(owner, settings.TURN_RATE_LIMIT)
    result = judge_answer(question_id=question_id, answer=text, item=question_item(question))
    attempt = DrillAttempt(owner=owner, question_id=question_id, field=_bank_of(question_id),
                           language=_language_of(question_id), stage=question.stage, level=question.level,
                           answer=text, score=result.score, result=_stored(result), created_at=utcnow())
    with session_scope(engine or get_engine()) as db:
        db.add(attempt)
        db.commit()
        result.attempt_id, result.created_at = attempt.id, attempt.created_at
    return result


def validate_answer(answer: object) -> str:
    """A drill answer under the same rule as interview answers: 1–4000 characters after trimming."""
    try:
        return DrillAnswer.model_validate({"answer": answer}).answer
    except ValidationError as exc:
        raise InvalidInput("; ".join(readable_error(err, located=False) for err in exc.errors())) from None


def judge_answer(*, question_id: str, answer: str, item: dict, level: str | None = None) -> DrillResult:
    """The interview's evaluator and follow-up logic applied to one answer to one question (nothing stored)."""
    language = _language_of(question_id)
    field_key = _bank_of(question_id)
    plan = {"items": [item], "field_key": field_key, "language": language}
    level = level or (item.get("level") if item.get("level") in LEVELS else "mid")
    ctx = TurnContext(session_id=f"drill-{question_id}", language=language, level=level, field=field_key,
                      target_position="", candidate_name="", plan=plan, state=initial_state(), stage=item["stage"],
                      item=item, answers=[answer])
    evaluation = interviewer.offline_evaluation(ctx)
    decision = interviewer.next_decision(ctx, evaluation)
    follow_up = None
    if decision.action in ("follow_up", "simpler", "challenge", "steer", "reask"):
        seed = hashlib.sha256(answer.encode()).hexdigest()[:8]
        follow_up = offline.compose_reply(decision=decision, language=language, used=set(),
                                          rng=session_rng(ctx.session_id, seed))
    entry = {"flags": evaluation.flags, "score": evaluation.score, "answer": answer, "stage": item["stage"],
             "covered": [{"point": d.point, "evidence": d.evidence} for d in evaluation.points
                         if d.status == "covered"],
             "unclear": evaluation.unclear, "missed": evaluation.missed, "_item": item,
             "misconception": evaluation.details().get("misconception")}
    return DrillResult(
        question_id=question_id, score=evaluation.score,
        covered=[{"point": c["point"], "evidence": c["evidence"][0]} for c in entry["covered"] if c["evidence"]],
        unclear=list(evaluation.unclear), missed=list(evaluation.missed), flags=list(evaluation.flags),
        feedback=report.question_feedback(entry, language), better_answer=report.better_answer(entry, language),
        follow_up=follow_up,
    )


def _stored(result: DrillResult) -> dict:
    return {"covered": result.covered, "unclear": result.unclear, "missed": result.missed, "flags": result.flags,
            "feedback": result.feedback, "better_answer": result.better_answer, "follow_up": result.follow_up}


def history(*, owner: str, engine: Engine | None = None, limit: int = MAX_HISTORY) -> list[DrillAttempt]:
    """The user's drill attempts, newest first."""
    with session_scope(engine or get_engine()) as db:
        rows = db.execute(select(DrillAttempt).where(DrillAttempt.owner == owner)
                          .order_by(DrillAttempt.created_at.desc(), DrillAttempt.id.desc()).limit(limit))
        return list(rows.scalars())


def public_attempt(attempt: DrillAttempt) -> DrillAttemptPublic:
    """An attempt as its owner sees it in the history (with the question's text)."""
    result = attempt.result or {}
    return DrillAttemptPublic(
        id=attempt.id, question_id=attempt.question_id, question=question_text(attempt.question_id),
        field=attempt.field, language=attempt.language, stage=attempt.stage, level=attempt.level,
        answer=attempt.answer, score=attempt.score, covered=result.get("covered") or [],
        unclear=result.get("unclear") or [], missed=result.get("missed") or [], feedback=result.get("feedback", ""),
        follow_up=result.get("follow_up"), created_at=attempt.created_at)


def question_text(question_id: str) -> str:
    try:
        return load_banks().get(question_id).question
    except KeyError:
        return question_id


def delete_attempt(*, owner: str, attempt_id: int, engine: Engine | None = None) -> None:
    """Delete one of the user's attempts; DrillNotFound for anyone else's or a missing one (or an id no row can
    have: the column is a 32-bit integer)."""
    if not 1 <= attempt_id <= MAX_ROW_ID:
        raise DrillNotFound()
    with session_scope(engine or get_engine()) as db:
        deleted = db.execute(delete(DrillAttempt).where(DrillAttempt.id == attempt_id, DrillAttempt.owner == owner))
        db.commit()
    if deleted.rowcount != 1:
        raise DrillNotFound()


def delete_history(*, owner: str, engine: Engine | None = None) -> int:
    """Delete all of the user's attempts; how many there were."""
    with session_scope(engine or get_engine()) as db:
        deleted = db.execute(delete(DrillAttempt).where(DrillAttempt.owner == owner))
        db.commit()
    return deleted.rowcount
