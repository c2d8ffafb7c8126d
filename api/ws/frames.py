"""The JSON frames the server sends on the interview WebSocket, built from core objects (see docs/API.md).

`turn_body` is also the REST answer to a turn: a `message` frame is that body plus its type.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from core import sessions
from core.interviewer import turns
from core.models import SessionSummary, TurnPublic

THINKING_EVERY_S = 1.0  # a `thinking` frame this often while the model works on a reply


def turn_body(result: turns.TurnResult) -> dict:
    turn = TurnPublic(user_message=result.user_message, message=result.reply, interview_stage=result.interview_stage,
                      is_complete=result.is_complete, replayed=result.replayed)
    return turn.model_dump(mode="json")


def message_frame(result: turns.TurnResult, client_message_id: str | None = None) -> dict:
    frame = {"type": "message"} | turn_body(result)
    return frame | ({"client_message_id": client_message_id} if client_message_id else {})


def stored_message_frame(stored: sessions.StoredReply, pulse: sessions.SessionPulse | None) -> dict:
    """A reply read from the database (stored by another process) as a `message` frame; `pulse` for the newest."""
    answer = stored.answer
    frame = {"type": "message", "user_message": answer.model_dump(mode="json") if answer is not None else None,
             "message": stored.reply.model_dump(mode="json"),
             "interview_stage": pulse.interview_stage if pulse else stored.reply.stage,
             "is_complete": pulse.is_complete if pulse else False, "replayed": False}
    cmid = answer.client_message_id if answer is not None else None
    return frame | ({"client_message_id": cmid} if cmid else {})


def state_frame(summary: SessionSummary) -> dict:
    return {"type": "state", "session_id": summary.session_id, "interview_stage": summary.interview_stage,
            "is_complete": summary.is_complete, "message_count": summary.message_count, "status": summary.status}


def token_frame(text: str) -> dict:
    return {"type": "token", "content": text}


def deleted_frame(session_id: str) -> dict:
    return {"type": "session_deleted", "session_id": session_id}


def bad_request_frame(text: str) -> dict:
    return {"type": "error", "code": "bad_request", "message": text, "retryable": False}


def thinking_frame(elapsed_s: float, client_message_id: str | None = None) -> dict:
    frame = {"type": "thinking", "elapsed_s": round(elapsed_s, 1)}
    return frame | ({"client_message_id": client_message_id} if client_message_id else {})


class ThinkingTicker:
    """Sends `thinking` frames with the seconds since the answer was stored, every THINKING_EVERY_S, until stopped
    (by the first token, the result or an error); stopping waits for a frame being sent, so frames never mix."""

    def __init__(self, send: Callable[[dict], Awaitable[None]], started: float, cmid: str | None) -> None:
        self._send, self._started, self._cmid = send, started, cmid
        self._stopped = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stopped.is_set():
            await self._send(thinking_frame(time.monotonic() - self._started, self._cmid))
            try:
                await asyncio.wait_for(self._stopped.wait(), THINKING_EVERY_S)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopped.set()
        try:
            await self._task
        except Exception:  # noqa: BLE001 - a closed socket: the turn's own frames report it
            pass
