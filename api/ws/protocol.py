"""WS /api/v1/chat/ws/{session_id}: the interview over a WebSocket (docs/API.md, "WebSocket protocol").

On connect: check Origin and the token, then a `state` frame. Client frames: `message` (one streamed turn),
`end`, `ping`. A turn runs in the background, so pings and `busy` answers keep flowing while it streams; its
tokens go to the sender and its stored reply to every connection of the session (see api.ws.hub).

Every frame is re-authorised before it is acted on: once the token has expired or its account is gone, the client
gets an `auth` error frame and the socket closes with 4401 (reconnect with a fresh token). A frame nested deeper
than MAX_FRAME_DEPTH is refused before it is parsed; text with control characters gets `invalid_input`.
"""

from __future__ import annotations

import json
import re
from functools import partial

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool

from api.concurrency import in_background, iterate_in_thread, run_blocking
from api.errors import describe_error, log_failure
from api.ws.frames import ThinkingTicker, bad_request_frame, message_frame, state_frame, token_frame
from api.ws.hub import BUSY_MESSAGE, Connection, hub
from core import sessions
from core.auth import AuthError, AuthUser, decode_access_token
from core.config import get_settings
from core.db import get_engine, session_scope
from core.interviewer import turns
from core.models import MAX_CLIENT_MESSAGE_ID, MAX_MESSAGE_CHARS, SessionSummary, forbidden_character

WS_POLICY_VIOLATION = 1008
WS_UNAUTHORISED = 4401
WS_SESSION_NOT_FOUND = 4404
# A message frame at its limits, every character \u-escaped as a surrogate pair (12 each), stays under this.
MAX_FRAME_CHARS = 64 * 1024
assert MAX_FRAME_CHARS > (MAX_MESSAGE_CHARS + MAX_CLIENT_MESSAGE_ID) * 12 + 512
MAX_FRAME_DEPTH = 8  # client frames are flat objects; deeper nesting is refused before json.loads recurses
# A string (an unterminated one runs to the end, so every character is read once: linear) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)
REAUTH_MESSAGE = ("登录已过期或账号已不可用，请重新登录后再连接 / your sign-in expired or the account is gone: "
                  "reconnect with a fresh token")


def nesting_exceeds(raw: str, limit: int = MAX_FRAME_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count)."""
    depth = 0
    for token in _JSON_TOKEN.finditer(raw):
        kind = token.group()[0]
        if kind in "[{":
            depth += 1
            if depth > limit:
                return True
        elif kind in "]}":
            depth -= 1
    return False


def ws_token(websocket: WebSocket) -> str | None:
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


def _authorise(token: str | None, session_id: str) -> tuple[AuthUser, SessionSummary, int]:
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
        user, summary, latest = await run_in_threadpool(_authorise, ws_token(websocket), session_id)
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
        await _serve_frames(conn, ws_token(websocket) or "")
    finally:
        hub.remove(conn)
        conn.open = False


async def _serve_frames(conn: Connection, token: str) -> None:
    while conn.open:
        try:
            message = await conn.websocket.receive()
        except Exception:  # noqa: BLE001 - closed underneath us (e.g. session deleted)
            return
        if message["type"] == "websocket.disconnect":
            return
        if not await _still_authorised(conn, token):
            return
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", "replace")
        await _handle_frame(conn, raw)


async def _still_authorised(conn: Connection, token: str) -> bool:
    """The token is still valid and its account still exists (checked per frame, on the loop: a JWT check and a
    stat of the accounts file); otherwise an `auth` error frame and close 4401."""
    try:
        if decode_access_token(token).username == conn.owner:
            return True
    except AuthError:
        pass
    await conn.send({"type": "error", "code": "auth", "message": REAUTH_MESSAGE, "retryable": False})
    await conn.close(WS_UNAUTHORISED, "token expired or account removed")
    return False


async def _handle_frame(conn: Connection, raw: str) -> None:
    if len(raw) > MAX_FRAME_CHARS:
        await conn.send(bad_request_frame(f"frame too large (max {MAX_FRAME_CHARS} characters)"))
        return
    if nesting_exceeds(raw):
        await conn.send(bad_request_frame(f"frames must be flat JSON objects (nesting deeper than {MAX_FRAME_DEPTH})"))
        return
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        await conn.send(bad_request_frame("frames must be JSON objects"))
        return
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ping":
        await conn.send({"type": "pong"})
    elif kind == "message":
        await _start_turn(conn, frame)
    elif kind == "end":
        await _start_end(conn)
    else:
        await conn.send(bad_request_frame("unknown frame type; use message, end or ping"))


async def _start_turn(conn: Connection, frame: dict) -> None:
    """Check a `message` frame, then run its turn in the background so pings and `busy` keep flowing."""
    try:
        message = sessions.validate_message(frame.get("content"), frame.get("client_message_id"))
    except sessions.InvalidInput as exc:
        cmid = frame.get("client_message_id")
        echo = cmid if isinstance(cmid, str) and forbidden_character(cmid) is None else None  # never echo bad text
        await conn.send(describe_error(exc).frame(echo))
        return
    slot = hub.begin_turn(conn.owner, conn.session_id)
    if slot is None:
        await conn.send(describe_error(turns.TurnBusy(BUSY_MESSAGE)).frame(message.client_message_id))
        return
    in_background(_stream_turn(conn, slot, message.content, message.client_message_id))


async def _stream_turn(conn: Connection, slot: object, content: str, cmid: str | None) -> None:
    """Stream one turn to `conn` and its final message to every connection of the session (the per-user turn
    limit is checked by run_turn). The slot is released before the last frame goes out, so a client may send its
    next message at once."""
    events = partial(turns.run_turn, owner=conn.owner, session_id=conn.session_id, content=content,
                     client_message_id=cmid, engine=get_engine())
    ticker: ThinkingTicker | None = None
    try:
        async for event in iterate_in_thread(events):
            if isinstance(event, turns.Thinking):  # "thinking" frames until the first token (see frames.py)
                ticker = ThinkingTicker(conn.send, event.started, cmid)
                continue
            if ticker is not None:
                await ticker.stop()
            if isinstance(event, turns.TurnResult):
                hub.end_turn(conn.owner, conn.session_id, slot)
                await hub.broadcast(conn.session_id, message_frame(event, cmid))
            else:
                await conn.send(token_frame(event.text))
    except Exception as exc:  # noqa: BLE001
        if ticker is not None:
            await ticker.stop()
        hub.end_turn(conn.owner, conn.session_id, slot)
        await _send_error(conn, exc, cmid)
    finally:
        if ticker is not None:
            await ticker.stop()
        hub.end_turn(conn.owner, conn.session_id, slot)


async def _start_end(conn: Connection) -> None:
    slot = hub.begin_turn(conn.owner, conn.session_id)
    if slot is None:
        await conn.send(describe_error(turns.TurnBusy(BUSY_MESSAGE)).frame())
        return
    in_background(_end_interview(conn, slot))


async def _end_interview(conn: Connection, slot: object) -> None:
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
    log_failure(exc, error)
    await conn.send(error.frame(cmid))
