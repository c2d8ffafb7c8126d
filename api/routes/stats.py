"""GET /stats/sessions: the sessions export (CSV, XLSX, JSON) for career-centre staff and analysts."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from api.deps import API_PREFIX, StatisticsUser
from api.errors import AUTH_ERRORS, errors
from core.config import get_settings
from core.db import get_engine

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_ZONES = sorted(available_timezones())  # the schema lists them, so clients and Schemathesis know the valid set
TIME_ZONE_SET = frozenset(TIME_ZONES)
EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}},
    "application/json": {"schema": {}},
}


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD, as the schema's `format: date` says (pydantic alone would also take a timestamp)."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("use a date like 2025-01-31")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

router = APIRouter(prefix=f"{API_PREFIX}/stats", tags=["stats"])


@router.get("/sessions", response_class=Response,
            responses={200: {"description": "the export file", "content": EXPORT_CONTENT},
                       **errors(*AUTH_ERRORS, 403, 422)})
def export_sessions(
    user: StatisticsUser,
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
    filters = stats.SessionFilters(date_from=date_from, date_to=date_to, field=field, level=level, completed=completed)
    try:
        export = stats.export_sessions(engine=get_engine(), filters=filters, fmt=fmt, tz=tz,
                                       include_names=stats.export_includes_names(user.roles, get_settings()))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    disposition = f'attachment; filename="{export.filename}"'
    return Response(export.content, media_type=export.media_type, headers={"Content-Disposition": disposition})
