"""GET /health: liveness and database reachability, for load balancers and monitors (no token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import API_PREFIX
from api.errors import errors
from core.config import get_settings
from core.db import get_engine

router = APIRouter(prefix=API_PREFIX, tags=["meta"])


class HealthResponse(BaseModel):
    status: str
    database: str
    interviewer: str


@router.get("/health", response_model=HealthResponse, responses=errors(503))
def health() -> Any:
    """Liveness and database reachability; no token needed."""
    interviewer = "llm" if get_settings().uses_llm else "offline"
    try:
        with get_engine().connect():
            pass
    except Exception:  # noqa: BLE001 - reported, not raised
        return JSONResponse({"status": "degraded", "database": "unreachable", "interviewer": interviewer}, 503)
    return {"status": "ok", "database": "ok", "interviewer": interviewer}
