"""The app's middleware: a cap on request bodies, and CORS for settings.ALLOWED_ORIGINS."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings

MAX_BODY_BYTES = 64 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"请求体过大（上限 {limit // 1024} KB）/ request body too large (max {limit} bytes)")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` (or the path's own limit in `per_path`, e.g. resume uploads): by
    Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, per_path: dict[str, int] | None = None):
        self.app, self.default_max, self.per_path = app, max_bytes, dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope.get("path", "").rstrip("/"), self.default_max)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            error = BodyTooLarge(max_bytes)
            await JSONResponse({"detail": error.detail}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, counted_receive, send)


def add_middleware(app: FastAPI, settings: Settings) -> None:
    """The body cap inside, CORS outside it (so even a refused body's answer carries the CORS headers)."""
    from api.routes.resumes import UPLOAD_MAX_BODY, UPLOAD_PATH

    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES, per_path={UPLOAD_PATH: UPLOAD_MAX_BODY})
    app.add_middleware(
        CORSMiddleware, allow_origins=list(settings.ALLOWED_ORIGINS), allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"], allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After", "Content-Disposition"],
    )
