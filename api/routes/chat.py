"""/chat: start an interview, list, history, delete, a turn without streaming, end early, the report.

A turn or an end here also reaches the session's open WebSockets (api.ws.hub). The streamed turn is the
WebSocket's (api.ws.protocol).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.concurrency import run_blocking
from api.deps import API_PREFIX, DB, CurrentUser
from api.errors import AUTH_ERRORS, BODY_ERRORS, ReportMissing, errors
from api.ws.frames import message_frame, turn_body
from api.ws.hub import hub
from core import sessions
from core.db import get_engine
from core.display import field_remix_icon
from core.interviewer import turns
from core.models import (
    InterviewSessionCreate,
    InterviewStarted,
    MessageCreate,
    ReportPublic,
    SessionDeleted,
    SessionHistoryPublic,
    SessionPublic,
    SessionsPublic,
    SessionSummary,
    TurnPublic,
)

router = APIRouter(prefix=f"{API_PREFIX}/chat", tags=["chat"])


@router.post("/start", status_code=201, response_model=InterviewStarted,
             responses=errors(*AUTH_ERRORS, 404, 409, *BODY_ERRORS, 429, 503))
async def start_chat(body: InterviewSessionCreate, user: CurrentUser) -> InterviewStarted:
    """Create a session; the reply holds the interviewer's welcome (409 at MAX_SESSIONS_PER_USER). With
    `resume_id` (POST /resumes) the interview asks about the candidate's own projects (404: not their resume)."""
    result = await run_blocking(turns.start_interview, owner=user.username, info=body, engine=get_engine())
    session, message = result.session, result.message
    return InterviewStarted(session_id=session.id, message=message.content, message_id=message.id,
                            created_at=message.created_at, is_complete=session.is_complete,
                            interview_stage=session.interview_stage, title=session.display_title)


@router.get("/sessions", response_model=SessionsPublic, responses=errors(*AUTH_ERRORS))
def list_sessions(user: CurrentUser, db: DB) -> SessionsPublic:
    """The user's sessions, most recent activity first."""
    summaries = sessions.list_session_summaries(db=db, owner=user.username)
    return SessionsPublic(sessions=[SessionPublic.of(s, icon=_icon(s)) for s in summaries])


@router.get("/history/{session_id}", response_model=SessionHistoryPublic, responses=errors(*AUTH_ERRORS, 404))
def history(session_id: str, user: CurrentUser, db: DB) -> SessionHistoryPublic:
    """The session with its messages in order."""
    found = sessions.get_history(db=db, owner=user.username, session_id=session_id)
    summary = sessions.summarize_session(found.session)
    return SessionHistoryPublic.of(summary, icon=_icon(summary), messages=found.messages)


@router.delete("/sessions/{session_id}", response_model=SessionDeleted, responses=errors(*AUTH_ERRORS, 404))
async def delete_chat(session_id: str, user: CurrentUser, db: DB) -> SessionDeleted:
    """Delete a session with its messages and report; its open WebSockets get `session_deleted` and close."""
    await run_in_threadpool(sessions.delete_session, db=db, owner=user.username, session_id=session_id)
    await hub.close_session(session_id)
    return SessionDeleted(session_id=session_id, deleted=True)


@router.post("/sessions/{session_id}/messages", response_model=TurnPublic,
             responses=errors(*AUTH_ERRORS, 404, 409, *BODY_ERRORS, 429, 503))
async def post_message(session_id: str, body: MessageCreate, user: CurrentUser) -> dict:
    """One turn without streaming: the answer is stored, then the interviewer's reply is returned."""
    with hub.turn(user.username, session_id):
        result = await run_blocking(_run_turn_to_end, owner=user.username, session_id=session_id,
                                    content=body.content, client_message_id=body.client_message_id)
    await hub.broadcast(session_id, message_frame(result, body.client_message_id))
    return turn_body(result)


@router.post("/sessions/{session_id}/end", response_model=TurnPublic, responses=errors(*AUTH_ERRORS, 404, 409, 503))
async def end_chat(session_id: str, user: CurrentUser) -> dict:
    """End the interview now; the reply is the interviewer's closing message."""
    with hub.turn(user.username, session_id):
        result = await run_blocking(turns.end_interview, owner=user.username, session_id=session_id)
    await hub.broadcast(session_id, message_frame(result))
    return turn_body(result)


@router.get("/sessions/{session_id}/report", response_model=ReportPublic, responses=errors(*AUTH_ERRORS, 404))
async def read_report(session_id: str, user: CurrentUser) -> ReportPublic:
    """The stored report; 404 while none exists (the interview is not complete yet)."""
    report = await run_blocking(turns.get_report, owner=user.username, session_id=session_id)
    if report is None:
        raise ReportMissing("报告尚未生成：请先完成面试 / no report yet: the interview is not complete "
                            "(a completed interview's report can be made with POST on this URL)")
    return ReportPublic.model_validate(report)


@router.post("/sessions/{session_id}/report", response_model=ReportPublic,
             responses=errors(*AUTH_ERRORS, 404, 409, 429, 503))
async def make_report(session_id: str, user: CurrentUser, regenerate: bool = False) -> ReportPublic:
    """Generate the report of a completed interview (or rewrite it with `?regenerate=true`)."""
    report = await run_blocking(turns.generate_report, owner=user.username, session_id=session_id,
                                regenerate=regenerate)
    return ReportPublic.model_validate(report)


def _run_turn_to_end(**kwargs: Any) -> turns.TurnResult:
    """Run one turn to its end (REST: no streaming) and return its result; run_turn checks the turn limit."""
    result = None
    for event in turns.run_turn(**kwargs, engine=get_engine()):
        if isinstance(event, turns.TurnResult):
            result = event
    if result is None:
        raise RuntimeError("run_turn ended without a result")
    return result


@lru_cache(maxsize=4096)
def remix_icon(field: str, target_position: str) -> str:
    """The seed's icon name; cached because matching the field aliases costs ~20 µs and lists are long."""
    return field_remix_icon(field, target_position)


def _icon(summary: SessionSummary) -> str:
    return remix_icon(summary.field, summary.target_position)
