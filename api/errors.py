"""The one mapping from core's errors to HTTP statuses and WebSocket error frames, and the app's error handlers.

Every error body is `{"detail": ...}`; turn and limit errors add `code`, `retryable` and, when waiting helps,
`retry_after` (also sent as the Retry-After header). No stack trace reaches a client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.routing import Match

from core import drills, resume_store, sessions
from core.interviewer import turns
from core.interviewer.errors import InterviewerError
from core.ratelimit import LimitStoreUnavailable, RateLimited

log = logging.getLogger("zhimian.api")


# Every error body: `detail` always; `code`/`retryable` for interview turns and limits.
class ErrorBody(BaseModel):
    detail: Any
    code: str | None = None
    retryable: bool | None = None
    retry_after: int | None = None


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with (all `{"detail": ...}`)."""
    return {code: {"model": ErrorBody} for code in codes}


AUTH_ERRORS = (401,)
# Every operation may answer these (unparsable body, invalid parameters, a bug), always as {"detail": ...}.
COMMON_ERRORS = errors(400, 422, 500)
BODY_ERRORS = (413, 422)


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


# The core errors a route may let through; each is answered by describe_error.
CORE_ERRORS = (RateLimited, LimitStoreUnavailable, ReportMissing, turns.TurnBusy, InterviewerError,
               turns.InterviewCompleted, turns.ReportNotReady, sessions.InvalidInput, sessions.SessionNotFound,
               drills.QuestionNotFound, drills.DrillNotFound)


def describe_error(exc: BaseException) -> ApiError:
    """The single mapping from core exceptions to statuses and protocol codes."""
    if isinstance(exc, RateLimited):
        return ApiError(429, "rate_limited", str(exc), True, exc.retry_after)
    if isinstance(exc, LimitStoreUnavailable):
        return ApiError(503, "unavailable", str(exc), True, 2)
    if isinstance(exc, turns.TurnBusy):
        return ApiError(409, "busy", _text(exc, "上一条回答仍在处理中 / a turn is already running"), True, 1)
    if isinstance(exc, turns.InterviewCompleted):
        return ApiError(409, "completed", _text(exc, "面试已结束 / the interview is complete"), False)
    if isinstance(exc, InterviewerError):
        status = {"rate_limited": 429, "budget_exhausted": 429, "busy": 409, "superseded": 409}.get(exc.code, 503)
        # exc.message is in the session's language and says what to do; exc.detail (provider text) stays in the log
        return ApiError(status, exc.code, exc.message, exc.retryable, 2 if exc.retryable else None)
    if isinstance(exc, sessions.SessionLimitReached):
        return ApiError(409, "session_limit", str(exc), False)
    if isinstance(exc, resume_store.ResumeRejected):
        status = 413 if exc.code == "too_large" else 422
        return ApiError(status, f"resume_{exc.code}", str(exc), exc.code == "timeout")
    if isinstance(exc, sessions.InvalidInput):
        return ApiError(422, "invalid_input", str(exc), False)
    if isinstance(exc, sessions.SessionNotFound | drills.QuestionNotFound | drills.DrillNotFound):
        return ApiError(404, "not_found", str(exc), False)
    if isinstance(exc, turns.ReportNotReady):
        text = _text(exc, "面试尚未结束，暂无报告 / the interview is not complete")
        return ApiError(409, "report_not_ready", text, False)
    if isinstance(exc, ReportMissing):
        return ApiError(404, "report_not_found", str(exc), False)
    return ApiError(500, "internal_error", "internal error", True)


def _text(exc: BaseException, default: str) -> str:
    return str(exc) or default


def log_failure(exc: BaseException, error: ApiError) -> None:
    """Server-side record of a failure a client is told about: a bug with its trace, a model failure in a line."""
    if error.status == 500:
        log.exception("unhandled error", exc_info=exc)
    elif isinstance(exc, InterviewerError):
        log.warning("interviewer failed: %s (%s)", exc.code, exc.detail)


async def handle_core_error(_request: Request, exc: Exception) -> JSONResponse:
    error = describe_error(exc)
    log_failure(exc, error)
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


async def handle_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


async def handle_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, with a readable `detail` line and the field errors kept under `errors`."""
    problems = [sessions.readable_error(err) for err in exc.errors()]
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


def install_error_handlers(app: FastAPI) -> None:
    for exc_class in CORE_ERRORS:
        app.add_exception_handler(exc_class, handle_core_error)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(405, handle_method_not_allowed)
    app.add_exception_handler(Exception, handle_unexpected)
