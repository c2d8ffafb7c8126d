"""The question drill: practise single bank questions outside a full interview, and the candidate's drill history.

Same evaluator and follow-up logic as interviews (core.drills); drill answers count against the same per-user
TURN_RATE_LIMIT as interview turns.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.concurrency import run_blocking
from api.deps import API_PREFIX, CurrentUser
from api.errors import AUTH_ERRORS, BODY_ERRORS, errors
from core import drills
from core.config import get_settings
from core.db import get_engine
from core.models import (
    LANGUAGES,
    LEVELS,
    DrillAnswer,
    DrillHistoryPublic,
    DrillQuestionPublic,
    DrillQuestionsPublic,
    DrillResultPublic,
    DrillsDeleted,
)

router = APIRouter(prefix=API_PREFIX, tags=["questions"])
DrillStage = Literal[drills.DRILL_STAGES]  # type: ignore[valid-type]


@router.get("/questions", response_model=DrillQuestionsPublic, responses=errors(*AUTH_ERRORS))
def list_questions(
    user: CurrentUser,
    field: Annotated[str, Query(max_length=50, description="field key or free text (前端开发, SRE ...)")] = "general",
    language: Literal[LANGUAGES] | None = None,  # type: ignore[valid-type]
    stage: DrillStage | None = None,
    level: Literal[LEVELS] | None = None,  # type: ignore[valid-type]
) -> DrillQuestionsPublic:
    """Drill questions of a field, language, stage and level (no key points in the list)."""
    found = drills.list_questions(field=field, language=language or get_settings().DEFAULT_LANGUAGE, stage=stage,
                                  level=level)
    return DrillQuestionsPublic(questions=[DrillQuestionPublic(**vars(q)) for q in found])


@router.post("/questions/{question_id}/evaluate", response_model=DrillResultPublic,
             responses=errors(*AUTH_ERRORS, 404, *BODY_ERRORS, 429))
async def evaluate(question_id: str, body: DrillAnswer, user: CurrentUser) -> DrillResultPublic:
    """Judge one answer: the points covered with the candidate's own words, what could be added, the follow-up an
    interviewer would ask. Stored in the user's drill history."""
    result = await run_blocking(drills.evaluate, owner=user.username, question_id=question_id, answer=body.answer,
                                engine=get_engine())
    return DrillResultPublic.model_validate(vars(result))


@router.get("/drills", response_model=DrillHistoryPublic, responses=errors(*AUTH_ERRORS))
async def history(user: CurrentUser) -> DrillHistoryPublic:
    """The user's drill answers, newest first."""
    attempts = await run_blocking(drills.history, owner=user.username, engine=get_engine())
    return DrillHistoryPublic(attempts=[drills.public_attempt(a) for a in attempts])


@router.delete("/drills/{attempt_id}", response_model=DrillsDeleted, responses=errors(*AUTH_ERRORS, 404))
async def delete_attempt(attempt_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user: CurrentUser) -> DrillsDeleted:
    """Delete one of the user's drill answers (anyone else's answers 404)."""
    await run_blocking(drills.delete_attempt, owner=user.username, attempt_id=attempt_id, engine=get_engine())
    return DrillsDeleted(deleted=1)


@router.delete("/drills", response_model=DrillsDeleted, responses=errors(*AUTH_ERRORS))
async def delete_history(user: CurrentUser) -> DrillsDeleted:
    """Delete the user's whole drill history."""
    return DrillsDeleted(deleted=await run_blocking(drills.delete_history, owner=user.username, engine=get_engine()))
