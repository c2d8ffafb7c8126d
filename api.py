"""FastAPI app over core: routes, dependencies and the WebSocket interview protocol (`uvicorn api:app`).

Settings are read per request (through core.config.get_settings), so one `app` object follows the environment.
Interview turns call an LLM synchronously: they run in a dedicated thread pool and stream their deltas back to
the event loop in order (deltas that arrive together share one wake-up of the loop). Open WebSockets stay in sync
across processes and hosts through the shared database: one watcher task per process polls the sessions it has
connections for (see SessionHub).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import sessions
from core.auth import (
    AuthError,
    AuthUser,
    TooManyAttempts,
    authenticate,
    create_access_token,
    decode_access_token,
    ensure_auth_config,
)
from core.config import get_settings
from core.db import get_engine, session_scope
from core.display import field_remix_icon
from core.interviewer import engine as interviewer_engine
from core.interviewer import turns
from core.models import LANGUAGES, LEVELS, MAX_MESSAGE_CHARS, SessionSummary
from core.ratelimit import RateLimited, parse_rate

log = logging.getLogger("zhimian.api")

API = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
TURN_WORKERS = 256  # threads for blocking LLM turns: one per concurrent interview turn
LOGIN_RETRY_AFTER_S = 15 * 60
WS_POLICY_VIOLATION = 1008
WS_SESSION_NOT_FOUND = 4404
BUSY_MESSAGE = "上一条回答仍在处理中，请稍候 / the previous answer is still being processed"
WATCH_INTERVAL_S = 0.5  # how often a process polls the sessions of its open WebSockets (one query for all)
WATCH_MAX_BACKOFF_S = 5.0  # polling interval while the database keeps failing


# --- response and request shapes ------------------------------------------------------------------------

def _as_utc(value: datetime) -> datetime:
    """Times leave with an explicit UTC offset (a database may hand back naive UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD, as the schema's `format: date` says (pydantic alone would also take a timestamp)."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("use a date like 2025-01-31")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
TIME_ZONES = sorted(available_timezones())  # the schema lists them, so clients and Schemathesis know the valid set
TIME_ZONE_SET = frozenset(TIME_ZONES)


# Every error body: `detail` always; `code`/`retryable` for interview turns and limits.
class ErrorBody(BaseModel):
    detail: Any
    code: str | None = None
    retryable: bool | None = None
    retry_after: int | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MeResponse(BaseModel):
    username: str
    name: str
    roles: list[str]


class HealthResponse(BaseModel):
    status: str
    database: str
    interviewer: str


# What a candidate fills in before an interview (the seed's UserInfo).
class StartRequest(BaseModel):
    target_position: str = Field(min_length=1, max_length=100, examples=["React前端开发工程师"])
    field: str = Field(default="通用", max_length=50, examples=["前端开发"])
    name: str | None = Field(default=None, max_length=60, description="candidate's name, used in the welcome")
    level: Literal[LEVELS] = "mid"  # type: ignore[valid-type]
    language: Literal[LANGUAGES] | None = Field(default=None, description="default: the server's DEFAULT_LANGUAGE")  # type: ignore[valid-type]
    job_description: str | None = Field(default=None, max_length=8000)

    def to_info(self, default_language: str) -> dict:
        return {"candidate_name": self.name or "", "target_position": self.target_position, "field": self.field,
                "level": self.level, "language": self.language or default_language,
                "job_description": self.job_description}


class MessageOut(BaseModel):
    id: int
    role: str
    content: str
    created_at: UTCDateTime
    status: str
    stage: str
    kind: str = "answer"
    client_message_id: str | None = None


class StartResponse(BaseModel):
    session_id: str
    message: str
    message_id: int
    created_at: UTCDateTime
    is_complete: bool
    interview_stage: str
    title: str


class SessionItem(SessionSummary):
    """A list row as core summarises it, plus the seed's Remix icon name."""

    created_at: UTCDateTime
    last_activity: UTCDateTime
    icon: str


class SessionListResponse(BaseModel):
    sessions: list[SessionItem]


class HistoryResponse(SessionItem):
    messages: list[MessageOut]


class DeleteResponse(BaseModel):
    session_id: str
    deleted: bool


class MessageRequest(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="client-chosen id (a uuid); a retry with the same id returns the stored reply",
    )


class TurnResponse(BaseModel):
    user_message: MessageOut | None
    message: MessageOut
    interview_stage: str
    is_complete: bool
    replayed: bool


class ReportOut(BaseModel):
    session_id: str
    overall: int
    dimensions: dict
    strengths: list
    improvements: list
    per_question: list
    summary: str
    source: str
    model: str | None = None
    created_at: UTCDateTime
    updated_at: UTCDateTime


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with (all `{"detail": ...}`)."""
    return {code: {"model": ErrorBody} for code in codes}


AUTH_ERRORS = (401,)
# Every operation may answer these (unparsable body, invalid parameters, a bug), always as {"detail": ...}.
COMMON_ERRORS = errors(400, 422, 500)
BODY_ERRORS = (413, 422)


# --- errors -----------------------------------------------------------------------------------------------

class ReportMissing(LookupError):
    """No report is stored for the session yet."""


# How one failure looks to a client, for HTTP (status) and the WebSocket (code) alike.
@dataclass(frozen=True)
class ApiError:
    status: int
    code: str
    message: str
    retryable: bool
    retry_after: int | None = None

    def body(self) -> dict:
        body = {"detail": self.message, "code": self.code, "retryable": self.retryable}
        return body | ({"retry_after": self.retry_after} if self.retry_after else {})

    def frame(self, client_message_id: str | None = None) -> dict:
        frame = {"type": "error", "code": self.code, "message": self.message, "retryable": self.retryable}
        if self.retry_after:
            frame["retry_after"] = self.retry_after
        return frame | ({"client_message_id": client_message_id} if client_message_id else {})

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


# What a client is told when the model fails (the provider's own error text may name hosts or accounts).
MODEL_FAILURES = {
    "timeout": "AI 面试官响应超时，请重试 / the interviewer timed out, please retry",
    "upstream_error": "AI 面试官暂时不可用，请重试 / the interviewer is temporarily unavailable, please retry",
    "rate_limited": "AI 面试官繁忙，请稍后重试 / the interviewer is busy, please retry shortly",
    "stream_interrupted": "回复中断，请重试 / the reply was cut off, please retry",
    "invalid_output": "AI 面试官的回复无法使用，请重试 / the interviewer's reply was unusable, please retry",
    "auth": "AI 面试官配置有误，请联系管理员 / the interviewer is misconfigured, please tell an administrator",
    "bad_request": "AI 面试官配置有误，请联系管理员 / the interviewer is misconfigured, please tell an administrator",
}


def describe_error(exc: BaseException) -> ApiError:
    """The single mapping from core exceptions to statuses and protocol codes."""
    if isinstance(exc, RateLimited):
        return ApiError(429, "rate_limited", str(exc), True, exc.retry_after)
    if isinstance(exc, turns.TurnBusy):
        return ApiError(409, "busy", _text(exc, "上一条回答仍在处理中 / a turn is already running"), True, 1)
    if isinstance(exc, turns.InterviewCompleted):
        return ApiError(409, "completed", _text(exc, "面试已结束 / the interview is complete"), False)
    if isinstance(exc, turns.TurnFailed):
        status = {"rate_limited": 429, "busy": 409, "superseded": 409}.get(exc.code, 503)
        text = MODEL_FAILURES.get(exc.code, exc.message)  # provider error text stays in the server log
        return ApiError(status, exc.code, text, exc.retryable, 2 if exc.retryable else None)
    if isinstance(exc, sessions.SessionLimitReached):
        return ApiError(409, "session_limit", str(exc), False)
    if isinstance(exc, sessions.InvalidInput):
        return ApiError(422, "invalid_input", str(exc), False)
    if isinstance(exc, sessions.SessionNotFound):
        return ApiError(404, "not_found", str(exc), False)
    if isinstance(exc, turns.ReportNotReady):
        text = _text(exc, "面试尚未结束，暂无报告 / the interview is not complete")
        return ApiError(409, "report_not_ready", text, False)
    if isinstance(exc, ReportMissing):
        return ApiError(404, "report_not_found", str(exc), False)
    return ApiError(500, "internal_error", "internal error", True)


def _text(exc: BaseException, default: str) -> str:
    return str(exc) or default


async def handle_core_error(_request: Request, exc: Exception) -> JSONResponse:
    error = describe_error(exc)
    if isinstance(exc, turns.TurnFailed):
        log.warning("turn failed: %s", exc)
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


async def handle_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


async def handle_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, with a readable `detail` line and the field errors kept under `errors`."""
    problems = [_readable_error(err) for err in exc.errors()]
    errors_json = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                   for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(problems) or "invalid request", "errors": errors_json}, status_code=422)


async def handle_method_not_allowed(request: Request, exc: HTTPException) -> JSONResponse:
    """405 whose Allow header lists the methods of every route on the path (Starlette names only the first)."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE and getattr(route, "methods", None):
            allowed |= route.methods
    return JSONResponse({"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(sorted(allowed))})


def _readable_error(err: dict) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', '')}"


# --- middleware -------------------------------------------------------------------------------------------

class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"请求体过大（上限 {limit // 1024} KB）/ request body too large (max {limit} bytes)")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes`: by Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            error = BodyTooLarge(self.max_bytes)
            await JSONResponse({"detail": error.detail}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)


class SettingsCORS:
    """CORS for settings.ALLOWED_ORIGINS, looked up per request so a changed environment applies."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._by_origins: dict[tuple[str, ...], CORSMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origins = get_settings().ALLOWED_ORIGINS
        middleware = self._by_origins.get(origins)
        if middleware is None:
            middleware = self._by_origins[origins] = CORSMiddleware(
                self.app, allow_origins=list(origins), allow_credentials=True,
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"], allow_headers=["Authorization", "Content-Type"],
                expose_headers=["Retry-After", "Content-Disposition"],
            )
        await middleware(scope, receive, send)


# --- blocking work off the event loop ---------------------------------------------------------------------

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def turn_executor() -> ThreadPoolExecutor:
    """The pool that runs interview turns (created on first use, replaced after shutdown)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=TURN_WORKERS, thread_name_prefix="turn")
        return _executor


def shutdown_executor() -> None:
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True)  # lets running turns finish and store their replies


async def run_blocking(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run a blocking core call in the turn pool."""
    return await asyncio.get_running_loop().run_in_executor(turn_executor(), partial(fn, **kwargs))


async def iterate_in_thread(make_events: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    """Events of a sync generator run to its end in the turn pool, even if the consumer stops listening."""
    loop = asyncio.get_running_loop()
    pending: deque[tuple[str, Any]] = deque()  # filled by the worker thread, drained in order by the loop
    arrived = asyncio.Event()
    wake_lock = threading.Lock()
    wake_scheduled = False

    def wake() -> None:
        nonlocal wake_scheduled
        with wake_lock:
            wake_scheduled = False
        arrived.set()

    def put(item: tuple[str, Any]) -> None:
        # Events that arrive while the loop has not yet woken up for earlier ones share that wake-up.
        nonlocal wake_scheduled
        with wake_lock:
            pending.append(item)
            if wake_scheduled:
                return
            wake_scheduled = True
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop closed (server stopping): the turn still completes and is stored
            pass

    def work() -> None:
        try:
            for event in make_events():
                put(("event", event))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(("error", exc))
        finally:
            put(("done", None))

    loop.run_in_executor(turn_executor(), work)
    while True:
        await arrived.wait()
        arrived.clear()
        while pending:
            kind, item = pending.popleft()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item


def run_turn_to_end(**kwargs: Any) -> turns.TurnResult:
    """Run one turn to its end (REST: no streaming) and return its result."""
    result = None
    for event in turns.run_turn(**kwargs, engine=get_engine()):
        if isinstance(event, turns.TurnResult):
            result = event
    if result is None:
        raise RuntimeError("run_turn ended without a result")
    return result


# --- dependencies -----------------------------------------------------------------------------------------

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{API}/auth/token")


def get_db() -> Iterator[Session]:
    """One DB session per request."""
    with session_scope(get_engine()) as db:
        yield db


async def current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> AuthUser:
    """The token's user, checked on the event loop: a JWT check costs less than a hop to a worker thread."""
    try:
        return decode_access_token(token)
    except AuthError:
        raise HTTPException(401, "令牌无效或已过期 / invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"}) from None


def statistics_user(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
    if not user.has_any_role("staff", "analyst"):
        raise HTTPException(403, "仅限教师或分析员 / staff or analyst role required")
    return user


DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[AuthUser, Depends(current_user)]


# --- shapes from core objects -----------------------------------------------------------------------------

def message_out(message: Any) -> dict:
    return MessageOut.model_validate(message, from_attributes=True).model_dump(mode="json")


def turn_body(result: turns.TurnResult) -> dict:
    return {
        "user_message": message_out(result.user_message) if result.user_message is not None else None,
        "message": message_out(result.reply), "interview_stage": result.interview_stage,
        "is_complete": result.is_complete, "replayed": result.replayed,
    }


def message_frame(result: turns.TurnResult, client_message_id: str | None = None) -> dict:
    frame = {"type": "message"} | turn_body(result)
    return frame | ({"client_message_id": client_message_id} if client_message_id else {})


def stored_message_frame(stored: sessions.StoredReply, pulse: sessions.SessionPulse | None) -> dict:
    """A reply read from the database (stored by another process) as a `message` frame; `pulse` for the newest."""
    answer = stored.answer
    frame = {"type": "message", "user_message": message_out(answer) if answer is not None else None,
             "message": message_out(stored.reply),
             "interview_stage": pulse.interview_stage if pulse else stored.reply.stage,
             "is_complete": pulse.is_complete if pulse else False, "replayed": False}
    cmid = answer.client_message_id if answer is not None else None
    return frame | ({"client_message_id": cmid} if cmid else {})


def state_frame(summary: Any) -> dict:
    return {"type": "state", "session_id": summary.session_id, "interview_stage": summary.interview_stage,
            "is_complete": summary.is_complete, "message_count": summary.message_count, "status": summary.status}


# --- WebSocket connections --------------------------------------------------------------------------------

class Connection:
    """One open WebSocket of a session; sends are serialised so frames never interleave.

    `last_message_id` is the newest interviewer message this client has (read at connect, then every one sent),
    so a reply reaching it both locally and through the database watcher is sent once.
    """

    def __init__(self, websocket: WebSocket, owner: str, session_id: str, last_message_id: int = 0):
        self.websocket, self.owner, self.session_id = websocket, owner, session_id
        self.last_message_id = last_message_id
        self.open = True
        self.deleted = False
        self._send_lock = asyncio.Lock()

    def claim(self, message_id: int) -> bool:
        """True the first time a message newer than what the client has is offered (no await: atomic)."""
        if message_id <= self.last_message_id:
            return False
        self.last_message_id = message_id
        return True

    async def send(self, payload: dict) -> bool:
        """Send a JSON frame; False (and never an exception) once the client is gone."""
        if not self.open:
            return False
        async with self._send_lock:
            try:
                await self.websocket.send_text(json.dumps(payload, ensure_ascii=False))
                return True
            except Exception:  # noqa: BLE001 - any send failure means the peer is gone
                self.open = False
                return False

    async def close(self, code: int = 1000, reason: str = "") -> None:
        async with self._send_lock:
            if self.open:
                self.open = False
                try:
                    await self.websocket.close(code=code, reason=reason)
                except Exception:  # noqa: BLE001
                    pass

    async def end_deleted(self) -> None:
        """`session_deleted`, then close 1000; once, whether the delete was seen locally or by the watcher."""
        if self.deleted:
            return
        self.deleted = True
        await self.send({"type": "session_deleted", "session_id": self.session_id})
        await self.close(1000, "session deleted")


class SessionHub:
    """Open connections per session, which sessions have a turn running in this process, and the watcher.

    Replies and deletions made in this process reach its connections at once (`broadcast`, `close_session`).
    Those made by another worker or host reach them through the database: while the process has connections, one
    task reads every watched session's row in one query each WATCH_INTERVAL_S, and for a session whose
    message_count moved, sends the complete replies its connections do not have yet; a vanished row means deleted.
    """

    def __init__(self) -> None:
        self._connections: dict[str, set[Connection]] = {}
        self._running: dict[tuple[str, str], object] = {}  # keyed by owner too: never reveals another's session
        self._seen_counts: dict[str, int] = {}  # message_count at the last delivery check, per watched session
        self._catching_up: set[str] = set()  # sessions whose stored replies are being read and sent
        self._watcher: asyncio.Task | None = None

    def add(self, conn: Connection) -> None:
        self._connections.setdefault(conn.session_id, set()).add(conn)
        self._seen_counts.pop(conn.session_id, None)  # check once more: a reply may have landed while it connected
        self._ensure_watching()

    def remove(self, conn: Connection) -> None:
        group = self._connections.get(conn.session_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self._connections[conn.session_id]
                self._seen_counts.pop(conn.session_id, None)

    def connections(self, session_id: str) -> list[Connection]:
        return list(self._connections.get(session_id, ()))

    async def broadcast(self, session_id: str, payload: dict) -> None:
        """A `message` frame to each connection that does not have its reply yet (a replay to all of them)."""
        message_id = payload["message"]["id"]
        targets = [conn for conn in self.connections(session_id) if conn.claim(message_id) or payload["replayed"]]
        await asyncio.gather(*(conn.send(payload) for conn in targets))

    async def close_session(self, session_id: str) -> None:
        """The session was deleted: tell every connection, then close it."""
        await asyncio.gather(*(conn.end_deleted() for conn in self.connections(session_id)))

    def _ensure_watching(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._watcher
        if task is None or task.done() or task.get_loop() is not loop:
            self._watcher = loop.create_task(self._watch(), name="session-watcher")

    async def stop_watching(self) -> None:
        task, self._watcher = self._watcher, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        """Poll while this process has connections; ends with the last one (the next connection restarts it)."""
        delay = WATCH_INTERVAL_S
        while self._connections:
            await asyncio.sleep(delay * random.uniform(0.9, 1.1))  # jitter: workers do not poll in lockstep
            try:
                await self.poll_once()
                delay = WATCH_INTERVAL_S
            except Exception:  # noqa: BLE001 - a database hiccup must not end live sync
                log.warning("session watcher: database read failed", exc_info=delay == WATCH_INTERVAL_S)
                delay = min(delay * 2, WATCH_MAX_BACKOFF_S)

    async def poll_once(self) -> None:
        """One round: one query for all watched sessions; those that changed are served in the background
        (so a client that stopped reading never holds up the others)."""
        owners = {sid: next(iter(group)).owner for sid, group in self._connections.items() if group}
        if not owners:
            return
        pulses = await run_in_threadpool(_read_pulses, owners)
        for session_id, owner in owners.items():
            pulse = pulses.get(session_id)
            if pulse is None:
                in_background(self.close_session(session_id))
            elif self.turn_running(owner, session_id):
                continue  # its own broadcast follows the turn's tokens; the count is checked after the turn
            elif self._seen_counts.get(session_id) != pulse.message_count and session_id not in self._catching_up:
                self._catching_up.add(session_id)
                in_background(self._send_stored_replies(session_id, owner, pulse))

    async def _send_stored_replies(self, session_id: str, owner: str, pulse: sessions.SessionPulse) -> None:
        """Replies stored since the oldest one this session's connections have, each to those that lack it."""
        try:
            group = self.connections(session_id)
            if not group or self.turn_running(owner, session_id):
                return  # a turn of this process: its own broadcast follows its streamed tokens
            after = min(conn.last_message_id for conn in group)
            stored = await run_in_threadpool(_read_replies_after, owner, session_id, after)
            if self.turn_running(owner, session_id):
                return  # a local turn started meanwhile; check again next round
            if min((conn.last_message_id for conn in self.connections(session_id)), default=after) >= after:
                self._seen_counts[session_id] = pulse.message_count  # else a tab joined meanwhile: read again
            for index, item in enumerate(stored):
                newest = index == len(stored) - 1
                await self.broadcast(session_id, stored_message_frame(item, pulse if newest else None))
        except Exception:  # noqa: BLE001 - retried next round (the count was not recorded)
            log.warning("session watcher: reading replies of %s failed", session_id, exc_info=True)
        finally:
            self._catching_up.discard(session_id)

    def turn_running(self, owner: str, session_id: str) -> bool:
        return (owner, session_id) in self._running

    def begin_turn(self, owner: str, session_id: str) -> object | None:
        """A token for the session's one running turn in this process, or None when a turn is running."""
        key = (owner, session_id)
        if key in self._running:
            return None
        token = self._running[key] = object()
        return token

    def end_turn(self, owner: str, session_id: str, token: object) -> None:
        """Release the turn `token` holds (never a later turn's)."""
        if self._running.get((owner, session_id)) is token:
            del self._running[(owner, session_id)]

    @contextmanager
    def turn(self, owner: str, session_id: str) -> Iterator[None]:
        """One turn at a time per session in this process (run_turn also locks across processes)."""
        token = self.begin_turn(owner, session_id)
        if token is None:
            raise turns.TurnBusy(BUSY_MESSAGE)
        try:
            yield
        finally:
            self.end_turn(owner, session_id, token)


def _read_pulses(owners: dict[str, str]) -> dict[str, sessions.SessionPulse]:
    with session_scope(get_engine()) as db:
        return sessions.read_pulses(db=db, owners=owners)


def _read_replies_after(owner: str, session_id: str, after_id: int) -> list[sessions.StoredReply]:
    with session_scope(get_engine()) as db:
        return sessions.list_replies_after(db=db, owner=owner, session_id=session_id, after_id=after_id)


hub = SessionHub()
_background: set[asyncio.Task] = set()


def in_background(coro: Any) -> asyncio.Task:
    """A task kept alive until it ends, even after its WebSocket closed."""
    task = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


# --- routes -----------------------------------------------------------------------------------------------

auth_router = APIRouter(prefix=API, tags=["auth"])
chat_router = APIRouter(prefix=f"{API}/chat", tags=["chat"])
stats_router = APIRouter(prefix=f"{API}/stats", tags=["stats"])


@auth_router.post("/auth/token", response_model=TokenResponse, responses=errors(401, 429, *BODY_ERRORS))
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request) -> dict:
    """OAuth2 password flow: form fields `username`, `password` → a bearer token."""
    client = request.client.host if request.client else ""
    try:
        user = authenticate(form.username, form.password, client=client)
    except TooManyAttempts as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(LOGIN_RETRY_AFTER_S)}) from None
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    token, expires_in = create_access_token(user)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


@auth_router.get("/auth/me", response_model=MeResponse, responses=errors(*AUTH_ERRORS))
def who_am_i(user: CurrentUser) -> dict:
    return {"username": user.username, "name": user.name, "roles": list(user.roles)}


@auth_router.get("/health", response_model=HealthResponse, tags=["meta"], responses=errors(503))
def health() -> Any:
    """Liveness and database reachability; no token needed."""
    interviewer = "llm" if get_settings().uses_llm else "offline"
    try:
        with get_engine().connect():
            pass
    except Exception:  # noqa: BLE001 - reported, not raised
        return JSONResponse({"status": "degraded", "database": "unreachable", "interviewer": interviewer}, 503)
    return {"status": "ok", "database": "ok", "interviewer": interviewer}


@chat_router.post("/start", status_code=201, response_model=StartResponse,
                  responses=errors(*AUTH_ERRORS, 409, *BODY_ERRORS, 429, 503))
async def start_chat(body: StartRequest, user: CurrentUser) -> dict:
    """Create a session; the reply holds the interviewer's welcome (409 at MAX_SESSIONS_PER_USER)."""
    settings = get_settings()
    result = await run_blocking(turns.start_interview, owner=user.username,
                                info=body.to_info(settings.DEFAULT_LANGUAGE), engine=get_engine())
    session, message = result.session, result.message
    return {"session_id": session.id, "message": message.content, "message_id": message.id,
            "created_at": message.created_at, "is_complete": session.is_complete,
            "interview_stage": session.interview_stage, "title": session.display_title}


@chat_router.get("/sessions", response_model=SessionListResponse, responses=errors(*AUTH_ERRORS))
def list_sessions(user: CurrentUser, db: DB) -> dict:
    """The user's sessions, most recent activity first."""
    summaries = sessions.list_session_summaries(db=db, owner=user.username)
    return {"sessions": [_session_item(s) for s in summaries]}


@chat_router.get("/history/{session_id}", response_model=HistoryResponse, responses=errors(*AUTH_ERRORS, 404))
def history(session_id: str, user: CurrentUser, db: DB) -> dict:
    """The session with its messages in order."""
    return _history_body(sessions.get_history(db=db, owner=user.username, session_id=session_id))


@chat_router.delete("/sessions/{session_id}", response_model=DeleteResponse, responses=errors(*AUTH_ERRORS, 404))
async def delete_chat(session_id: str, user: CurrentUser, db: DB) -> dict:
    """Delete a session with its messages and report; its open WebSockets get `session_deleted` and close."""
    await run_in_threadpool(sessions.delete_session, db=db, owner=user.username, session_id=session_id)
    await hub.close_session(session_id)
    return {"session_id": session_id, "deleted": True}


@chat_router.post("/sessions/{session_id}/messages", response_model=TurnResponse,
                  responses=errors(*AUTH_ERRORS, 404, 409, *BODY_ERRORS, 429, 503))
async def post_message(session_id: str, body: MessageRequest, user: CurrentUser) -> dict:
    """One turn without streaming: the answer is stored, then the interviewer's reply is returned (run_turn checks
    the answer and the user's turn limit)."""
    with hub.turn(user.username, session_id):
        result = await run_blocking(run_turn_to_end, owner=user.username, session_id=session_id,
                                    content=body.content, client_message_id=body.client_message_id)
    await hub.broadcast(session_id, message_frame(result, body.client_message_id))
    return turn_body(result)


@chat_router.post("/sessions/{session_id}/end", response_model=TurnResponse,
                  responses=errors(*AUTH_ERRORS, 404, 409, 503))
async def end_chat(session_id: str, user: CurrentUser) -> dict:
    """End the interview now; the reply is the interviewer's closing message."""
    with hub.turn(user.username, session_id):
        result = await run_blocking(turns.end_interview, owner=user.username, session_id=session_id)
    await hub.broadcast(session_id, message_frame(result))
    return turn_body(result)


@chat_router.get("/sessions/{session_id}/report", response_model=ReportOut,
                 responses=errors(*AUTH_ERRORS, 404))
async def read_report(session_id: str, user: CurrentUser) -> Any:
    """The stored report; 404 while none exists (the interview is not complete yet)."""
    report = await run_blocking(turns.get_report, owner=user.username, session_id=session_id)
    if report is None:
        raise ReportMissing("报告尚未生成：请先完成面试 / no report yet: the interview is not complete "
                            "(a completed interview's report can be made with POST on this URL)")
    return ReportOut.model_validate(report, from_attributes=True)


@chat_router.post("/sessions/{session_id}/report", response_model=ReportOut,
                  responses=errors(*AUTH_ERRORS, 404, 409, 429, 503))
async def make_report(session_id: str, user: CurrentUser, regenerate: bool = False) -> Any:
    """Generate the report of a completed interview (or rewrite it with `?regenerate=true`)."""
    report = await run_blocking(turns.generate_report, owner=user.username, session_id=session_id,
                                regenerate=regenerate)
    return ReportOut.model_validate(report, from_attributes=True)


@lru_cache(maxsize=4096)
def remix_icon(field: str, target_position: str) -> str:
    """The seed's icon name; cached because matching the field aliases costs ~20 µs and lists are long."""
    return field_remix_icon(field, target_position)


def _session_item(summary: Any) -> dict:
    return summary.model_dump() | {"icon": remix_icon(summary.field, summary.target_position)}


def _history_body(found: sessions.SessionHistory) -> dict:
    summary = sessions.summarize_session(found.session)
    return _session_item(summary) | {"messages": [m.model_dump() for m in found.messages]}


EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}},
    "application/json": {"schema": {}},
}


@stats_router.get("/sessions", response_class=Response,
                  responses={200: {"description": "the export file", "content": EXPORT_CONTENT},
                             **errors(*AUTH_ERRORS, 403, 422)})
def export_sessions(
    user: Annotated[AuthUser, Depends(statistics_user)],
    fmt: Annotated[Literal["csv", "xlsx", "json"], Query(alias="format")] = "csv",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    field: Annotated[str | None, Query(max_length=50)] = None,
    level: Annotated[str | None, Query(max_length=10)] = None,
    completed: bool | None = None,
    tz: Annotated[str | None, Query(description="IANA zone of the dates (default Asia/Shanghai)",
                                    json_schema_extra={"enum": TIME_ZONES})] = None,
) -> Response:
    """Sessions as CSV, XLSX or JSON for staff and analysts; names only for staff when STATS_INCLUDE_NAMES."""
    from core import stats  # pandas loads only when an export is asked for

    if tz is not None and tz not in TIME_ZONE_SET:
        raise HTTPException(422, f"unknown time zone {tz!r}; use an IANA name such as Asia/Shanghai")
    include_names = stats.export_includes_names(user.roles, get_settings())
    filters = stats.SessionFilters(date_from=date_from, date_to=date_to, field=field, level=level, completed=completed)
    try:
        export = stats.export_sessions(engine=get_engine(), filters=filters, fmt=fmt, include_names=include_names,
                                       tz=tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    disposition = f'attachment; filename="{export.filename}"'
    return Response(export.content, media_type=export.media_type, headers={"Content-Disposition": disposition})


# --- app --------------------------------------------------------------------------------------------------

@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    parse_rate(settings.TURN_RATE_LIMIT)  # a bad TURN_RATE_LIMIT fails at start, not on the first turn
    await run_in_threadpool(get_engine)
    await run_in_threadpool(ensure_auth_config)
    turn_executor()
    # With a model configured, load its client (LiteLLM: seconds of import) in the background now rather than in
    # the first candidate's turn; requests are served meanwhile, and a turn that arrives first waits for it.
    threading.Thread(target=interviewer_engine.warm_up, args=(settings,), daemon=True, name="llm-warm-up").start()
    yield
    await hub.stop_watching()
    await run_in_threadpool(shutdown_executor)


def create_app() -> FastAPI:
    app = FastAPI(
        title="职面星火 Zhimian Xinghuo API", version="1.0.0", lifespan=lifespan, responses=COMMON_ERRORS,
        description="AI mock interviews: sessions, history, streamed turns (WebSocket), reports, statistics.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(SettingsCORS)
    for exc_class in (RateLimited, ReportMissing, turns.TurnBusy, turns.TurnFailed, turns.InterviewCompleted,
                      turns.ReportNotReady, sessions.InvalidInput, sessions.SessionNotFound):
        app.add_exception_handler(exc_class, handle_core_error)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(405, handle_method_not_allowed)
    app.add_exception_handler(Exception, handle_unexpected)
    for router in (auth_router, chat_router, stats_router):
        app.include_router(router)
    app.add_api_websocket_route(f"{API}/chat/ws/{{session_id}}", chat_websocket)
    return app


# --- the WebSocket protocol -------------------------------------------------------------------------------

def _ws_token(websocket: WebSocket) -> str | None:
    """`?token=`, an `Authorization: Bearer` header, or `Sec-WebSocket-Protocol: bearer, <jwt>`."""
    if token := websocket.query_params.get("token"):
        return token
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    protocols = [p.strip() for p in websocket.scope.get("subprotocols") or []]
    if "bearer" in protocols and protocols.index("bearer") + 1 < len(protocols):
        return protocols[protocols.index("bearer") + 1]
    return None


def _authorise_ws(token: str | None, session_id: str) -> tuple[AuthUser, Any, int]:
    """The user, the session's summary and its newest reply id; AuthError or SessionNotFound otherwise."""
    if not token:
        raise AuthError("missing token")
    user = decode_access_token(token)
    with session_scope(get_engine()) as db:
        summary = sessions.get_summary(db=db, owner=user.username, session_id=session_id)
        latest = sessions.latest_reply_id(db=db, owner=user.username, session_id=session_id)
        return user, summary, latest


async def chat_websocket(websocket: WebSocket, session_id: str) -> None:
    """WS /api/v1/chat/ws/{session_id}: state on connect, streamed turns, ping, end (see docs/API.md)."""
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="bearer" if "bearer" in offered else None)
    origin = websocket.headers.get("origin")
    if origin and origin not in get_settings().ALLOWED_ORIGINS:
        await websocket.close(WS_POLICY_VIOLATION, "origin not allowed")
        return
    try:
        user, summary, latest = await run_in_threadpool(_authorise_ws, _ws_token(websocket), session_id)
    except AuthError:
        await websocket.close(WS_POLICY_VIOLATION, "authentication required")
        return
    except sessions.SessionNotFound:
        await websocket.close(WS_SESSION_NOT_FOUND, "session not found")
        return
    conn = Connection(websocket, user.username, session_id, last_message_id=latest)
    hub.add(conn)
    try:
        await conn.send(state_frame(summary))
        await _serve_frames(conn)
    finally:
        hub.remove(conn)
        conn.open = False


async def _serve_frames(conn: Connection) -> None:
    while conn.open:
        try:
            message = await conn.websocket.receive()
        except Exception:  # noqa: BLE001 - closed underneath us (e.g. session deleted)
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", "replace")
        await _handle_frame(conn, raw)


def _bad_request(text: str) -> dict:
    return {"type": "error", "code": "bad_request", "message": text, "retryable": False}


async def _handle_frame(conn: Connection, raw: str) -> None:
    if len(raw) > MAX_BODY_BYTES:  # the same cap as HTTP bodies; a message is at most 4000 characters anyway
        await conn.send(_bad_request(f"frame too large (max {MAX_BODY_BYTES} bytes)"))
        return
    try:
        frame = json.loads(raw)
    except ValueError:
        await conn.send(_bad_request("frames must be JSON objects"))
        return
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ping":
        await conn.send({"type": "pong"})
    elif kind == "message":
        await _start_ws_turn(conn, frame)
    elif kind == "end":
        await _start_ws_end(conn)
    else:
        await conn.send(_bad_request("unknown frame type; use message, end or ping"))


async def _start_ws_turn(conn: Connection, frame: dict) -> None:
    """Check a `message` frame, then run its turn in the background so pings and `busy` keep flowing (run_turn
    checks the user's turn limit)."""
    try:
        message = sessions.validate_message(frame.get("content"), frame.get("client_message_id"))
    except sessions.InvalidInput as exc:
        cmid = frame.get("client_message_id")
        await conn.send(describe_error(exc).frame(cmid if isinstance(cmid, str) else None))
        return
    slot = hub.begin_turn(conn.owner, conn.session_id)
    if slot is None:
        await conn.send(describe_error(turns.TurnBusy(BUSY_MESSAGE)).frame(message.client_message_id))
        return
    in_background(_stream_turn(conn, slot, message.content, message.client_message_id))


async def _stream_turn(conn: Connection, slot: object, content: str, cmid: str | None) -> None:
    """Stream one turn to `conn` and its final message to every connection of the session.

    The slot is released before the last frame goes out, so a client may send its next message at once.
    """
    events = partial(turns.run_turn, owner=conn.owner, session_id=conn.session_id, content=content,
                     client_message_id=cmid, engine=get_engine())
    try:
        async for event in iterate_in_thread(events):
            if isinstance(event, turns.TurnResult):
                hub.end_turn(conn.owner, conn.session_id, slot)
                await hub.broadcast(conn.session_id, message_frame(event, cmid))
            else:
                await conn.send({"type": "token", "content": event.text})
    except Exception as exc:  # noqa: BLE001
        hub.end_turn(conn.owner, conn.session_id, slot)
        await _send_error(conn, exc, cmid)
    finally:
        hub.end_turn(conn.owner, conn.session_id, slot)


async def _start_ws_end(conn: Connection) -> None:
    slot = hub.begin_turn(conn.owner, conn.session_id)
    if slot is None:
        await conn.send(describe_error(turns.TurnBusy(BUSY_MESSAGE)).frame())
        return
    in_background(_end_over_ws(conn, slot))


async def _end_over_ws(conn: Connection, slot: object) -> None:
    try:
        result = await run_blocking(turns.end_interview, owner=conn.owner, session_id=conn.session_id)
    except Exception as exc:  # noqa: BLE001
        hub.end_turn(conn.owner, conn.session_id, slot)
        await _send_error(conn, exc)
        return
    hub.end_turn(conn.owner, conn.session_id, slot)
    await hub.broadcast(conn.session_id, message_frame(result))


async def _send_error(conn: Connection, exc: Exception, cmid: str | None = None) -> None:
    error = describe_error(exc)
    if error.status == 500:
        log.exception("WebSocket turn failed", exc_info=exc)
    elif isinstance(exc, turns.TurnFailed):
        log.warning("turn failed: %s", exc)
    await conn.send(error.frame(cmid))


app = create_app()
