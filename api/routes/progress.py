"""/me/progress (the candidate's own progress) and the printable report (`/chat/{session_id}/report.pdf`).

Both are thin over core: core.progress aggregates, core.report_pdf renders. Everything is the signed-in user's own:
another user's session answers 404 exactly like a missing one, and progress never takes a user name.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote
from zoneinfo import available_timezones

from fastapi import APIRouter, Query, Response

from api.concurrency import run_blocking
from api.deps import API_PREFIX, CurrentUser
from api.errors import AUTH_ERRORS, ReportMissing, errors
from core import progress, report_pdf
from core.db import get_engine
from core.models import LANGUAGES

router = APIRouter(prefix=API_PREFIX, tags=["progress"])
# The zones this server knows: the schema lists them, core checks them (a short 422, not a 600-name message).
TIME_ZONES = sorted(available_timezones())
PDF_RESPONSE = {200: {"content": {"application/pdf": {}}, "description": "the report as an A4 PDF"}}


@router.get("/me/progress", response_model=progress.ProgressPublic, responses=errors(*AUTH_ERRORS))
async def my_progress(
    user: CurrentUser,
    tz: Annotated[str | None, Query(description="IANA zone of the weeks (default Asia/Shanghai)",
                                    json_schema_extra={"enum": TIME_ZONES})] = None,
    weeks: Annotated[int, Query(ge=1, le=progress.MAX_WEEKS, description="weeks of practice counts")] = 12,
) -> progress.ProgressPublic:
    """Your scores over time, practice per week, the key points and questions you miss most (interviews and
    drills), each with the question id for a drill. Only ever the signed-in user's own data."""
    return await run_blocking(progress.get_progress, owner=user.username, tz=tz, weeks=weeks, engine=get_engine())


@router.get("/chat/{session_id}/report.pdf", response_class=Response,
            responses=PDF_RESPONSE | errors(*AUTH_ERRORS, 404))
@router.get("/chat/sessions/{session_id}/report.pdf", response_class=Response, include_in_schema=False)
async def report_as_pdf(
    session_id: str,
    user: CurrentUser,
    lang: Annotated[Literal[LANGUAGES] | None,  # type: ignore[valid-type]
                    Query(description="the labels' language (default: the interview's)")] = None,
) -> Response:
    """The report as a printable PDF (scores chart, every question with your own words, advice); 404 for a session
    that is not yours or has no report yet."""
    try:
        data = await run_blocking(report_pdf.report_pdf, owner=user.username, session_id=session_id, lang=lang,
                                  engine=get_engine())
    except report_pdf.ReportNotWritten as exc:
        raise ReportMissing(str(exc)) from None
    name = report_pdf.pdf_file_name(session_id)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})
