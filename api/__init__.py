"""The REST + WebSocket API over core (`uvicorn api:app`), laid out like fastapi/full-stack-fastapi-template.

create_app wires the pieces: middleware (body cap, CORS), the error mapping (errors.py), the REST routes
(routes/<topic>.py, dependencies in deps.py) and the interview WebSocket (ws/protocol.py, live sync in ws/hub.py).
Blocking core calls run in the turn pool (concurrency.py). Settings come from core.config: CORS origins when the
app is created, everything else (the WebSocket Origin check included) when a request needs it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.concurrency import shutdown_executor, turn_executor
from api.deps import API_PREFIX
from api.errors import COMMON_ERRORS, install_error_handlers
from api.middleware import add_middleware
from api.routes import auth, chat, health, progress, questions, resumes, stats
from api.ws.hub import hub
from api.ws.protocol import chat_websocket
from core.auth import ensure_auth_config
from core.config import get_settings
from core.db import get_engine
from core.interviewer import engine as interviewer_engine
from core.ratelimit import parse_rate


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
    add_middleware(app, get_settings())
    install_error_handlers(app)
    for module in (auth, health, chat, questions, stats, progress, resumes):
        app.include_router(module.router)
    app.add_api_websocket_route(f"{API_PREFIX}/chat/ws/{{session_id}}", chat_websocket)
    return app


app = create_app()
