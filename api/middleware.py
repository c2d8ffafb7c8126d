"""The app's middleware: refused characters in URLs, a cap on request bodies, and CORS for settings.ALLOWED_ORIGINS."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings
from core.models import MAX_CLIENT_MESSAGE_ID, OPTIONAL_LINE_PATTERN, forbidden_character

# The largest valid body is a start request: 8,000 + 100 + 60 + 50 characters. A client's JSON encoder may write
# every one of them as \\uXXXX escapes, 12 bytes for a character outside the BMP (a surrogate pair): ~98.5 KB. The
# cap stays above that, so a body within every field's limit is never refused as too large.
MAX_BODY_BYTES = 128 * 1024
assert MAX_BODY_BYTES > (8000 + 100 + 60 + 50 + MAX_CLIENT_MESSAGE_ID) * 12 + 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"请求体过大（上限 {limit // 1024} KB）/ request body too large (max {limit} bytes)")


def url_problem(scope: Scope) -> str | None:
    """What is wrong with a request's path or query: a control character or lone surrogate (the same rule as for
    bodies, core.models), which no id or filter may hold and PostgreSQL would refuse. None when clean."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    path = unquote(raw_path.decode("latin-1"), errors="surrogatepass")
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True,
                      errors="surrogatepass")
    for where, text in (("path", path), *((f"query {name!r}", f"{name}{value}") for name, value in pairs)):
        if (code := forbidden_character(text)) is not None:
            return (f"{where}: 不能包含控制字符或残缺的代理字符（{code}）/ must not contain control characters or "
                    f"lone surrogates ({code})")
    return None


class RefuseBadUrls:
    """422 for an HTTP request, close 1008 for a WebSocket, whose URL holds a refused character."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = url_problem(scope) if scope["type"] in ("http", "websocket") else None
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await JSONResponse({"detail": problem}, status_code=422)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid characters in URL"})


def document_url_rule(app: FastAPI) -> None:
    """Say in the OpenAPI schema what RefuseBadUrls enforces: every free-text path and query parameter gets the
    pattern that excludes control characters (so clients and Schemathesis know a NUL in an id is refused)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                    if parameter.get("in") in ("path", "query"):
                        _add_text_pattern(parameter.get("schema", {}))
        return schema

    app.openapi = openapi


def _add_text_pattern(schema: dict) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string" and "enum" not in branch and "pattern" not in branch:
            branch["pattern"] = OPTIONAL_LINE_PATTERN


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
    """The URL check and body cap inside, CORS outside them (so even a refused request's answer carries the CORS
    headers)."""
    from api.routes.resumes import UPLOAD_MAX_BODY, UPLOAD_PATH

    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES, per_path={UPLOAD_PATH: UPLOAD_MAX_BODY})
    app.add_middleware(RefuseBadUrls)
    document_url_rule(app)
    app.add_middleware(
        CORSMiddleware, allow_origins=list(settings.ALLOWED_ORIGINS), allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"], allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After", "Content-Disposition"],
    )
