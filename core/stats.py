"""Practice statistics for career centres: a sessions frame read in one query, aggregates and exports.

Candidates appear under a stable pseudonym (an HMAC of their username); names and usernames are added only
when a caller asks for them. Timestamps are UTC (read aware, kept naive in the frame and exports, as Excel needs);
calendar days (date filters, daily counts, created_date_local) are taken in the viewer's time zone, Asia/Shanghai
unless told otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from core.config import Settings, get_settings
from core.display import DEFAULT_TIMEZONE, duration_minutes, session_status, time_zone
from core.i18n import t
from core.models import DIMENSIONS, STAGES, InterviewSession, Message, ModelUsage, Report, utcnow

EXPORT_FORMATS = ("csv", "xlsx", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
SCORE_BINS = tuple(range(0, 101, 10))

# Column -> dtype of the sessions frame, in export order (the two name columns only with include_names).
SESSION_COLUMNS: dict[str, str] = {
    "session_id": "str",
    "candidate": "str",
    "candidate_name": "str",
    "username": "str",
    "field": "str",
    "target_position": "str",
    "level": "str",
    "language": "str",
    "created_at": "datetime64[us]",
    "created_date_local": "object",  # datetime.date: created_at's calendar day in the frame's time zone
    "last_activity": "datetime64[us]",
    "duration_minutes": "int64",
    "message_count": "int64",
    "status": "str",
    "status_label": "str",
    "interview_stage": "str",
    "reached_stage": "str",
    "is_complete": "bool",
    "ended_early": "bool",
    "score_overall": "float64",
    **{f"score_{d}": "float64" for d in DIMENSIONS},
    "tokens": "int64",
    "cost_usd": "float64",
    "model_seconds": "float64",  # time spent waiting for the model, all turns and reports of the interview
    "model": "str",
}
NAME_COLUMNS = ("candidate_name", "username")


# Which sessions a frame or export covers; dates are inclusive, local calendar days of created_at.
@dataclass(frozen=True)
class SessionFilters:
    date_from: date | None = None
    date_to: date | None = None
    field: str | None = None
    level: str | None = None
    completed: bool | None = None


# A finished export, ready to be sent or saved.
@dataclass(frozen=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str


# The numbers at the top of the analytics page.
@dataclass(frozen=True)
class Headline:
    sessions: int
    candidates: int
    completed: int
    ended_early: int
    completion_rate: float | None
    mean_score: float | None
    tokens: int
    cost_usd: float


def pseudonym(owner: str, secret_key: str) -> str:
    """A stable, non-reversible candidate id: 'C-' + the first 8 hex digits of HMAC-SHA256(secret, owner)."""
    return "C-" + hmac.new(secret_key.encode(), owner.encode(), hashlib.sha256).hexdigest()[:8]


def export_includes_names(user_roles: Iterable[str], settings: Settings) -> bool:
    """Whether a viewer with these roles gets candidate names: staff only, and only when STATS_INCLUDE_NAMES is on
    (analysts never); every client asks here."""
    return "staff" in user_roles and settings.STATS_INCLUDE_NAMES


def _secret_key() -> str:
    return get_settings().secret_key()


# --- the sessions frame: one query ----------------------------------------------------------------------

_QUERY_COLUMNS = (
    InterviewSession.id, InterviewSession.owner, InterviewSession.candidate_name, InterviewSession.field,
    InterviewSession.target_position, InterviewSession.level, InterviewSession.language,
    InterviewSession.created_at, InterviewSession.last_activity, InterviewSession.message_count,
    InterviewSession.interview_stage, InterviewSession.is_complete, InterviewSession.ended_early,
    InterviewSession.prompt_tokens, InterviewSession.completion_tokens, InterviewSession.cost_usd,
    InterviewSession.llm_model, Report.overall, Report.dimensions,
)


def _early_end_reach():
    """For a session ended early: the furthest stage of its messages before the closing one (where it stopped)."""
    rank = case({stage: i for i, stage in enumerate(STAGES[:-1])}, value=Message.stage)  # 'completed' -> NULL
    # The welcome message is stored under 'welcome' but already asks the plan's first question (self_intro).
    rank = case((Message.kind == "welcome", STAGES.index("self_intro")), else_=rank)
    furthest = (
        select(func.max(rank))
        .where(Message.session_id == InterviewSession.id, Message.kind != "closing")
        .correlate(InterviewSession)
        .scalar_subquery()
    )
    # Inside CASE the correlated subquery runs only for the (few) sessions ended early, through the message index.
    return case((InterviewSession.ended_early.is_(True), furthest)).label("furthest")


def _model_ms():
    """Milliseconds spent in model calls for the session (model_usage rows; 0 for an offline interview)."""
    total = (select(func.coalesce(func.sum(ModelUsage.latency_ms), 0))
             .where(ModelUsage.session_id == InterviewSession.id).correlate(InterviewSession).scalar_subquery())
    return total.label("model_ms")


def sessions_query(filters: SessionFilters | None = None, tz: str | None = None):
    """The one SELECT behind the sessions frame: sessions left-joined to their report, filtered in SQL.

    The date filters are local calendar days in `tz`, turned into UTC bounds (the same SQL on both databases).
    """
    filters, zone = filters or SessionFilters(), time_zone(tz)
    stmt = (
        select(*_QUERY_COLUMNS, _early_end_reach(), _model_ms())
        .select_from(InterviewSession)
        .outerjoin(Report, Report.session_id == InterviewSession.id)
    )
    if filters.date_from is not None:
        stmt = stmt.where(InterviewSession.created_at >= _start_of_day(filters.date_from, zone))
    if filters.date_to is not None and filters.date_to < date.max:  # 9999-12-31: no upper bound
        stmt = stmt.where(InterviewSession.created_at < _start_of_day(filters.date_to + timedelta(days=1), zone))
    if filters.field:
        stmt = stmt.where(InterviewSession.field == filters.field)
    if filters.level:
        stmt = stmt.where(InterviewSession.level == filters.level)
    if filters.completed is not None:
        stmt = stmt.where(InterviewSession.is_complete.is_(filters.completed))
    return stmt.order_by(InterviewSession.created_at, InterviewSession.id)


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The first moment of a local calendar day, as aware UTC (the columns' type refuses naive values)."""
    # Where midnight is skipped by a clock change, fold=0 reads it with the old offset: the day's true start.
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC starts in year 0, which datetime cannot hold: before everything
        return datetime.min.replace(tzinfo=UTC)


def load_sessions(
    *, engine: Engine, filters: SessionFilters | None = None, include_names: bool = False,
    secret_key: str | None = None, tz: str | None = None,
) -> pd.DataFrame:
    """One row per session (see SESSION_COLUMNS), read with a single SQL statement; days are local to `tz`."""
    with engine.connect() as conn:
        rows = conn.execute(sessions_query(filters, tz)).all()
    return sessions_frame(rows, include_names=include_names, secret_key=secret_key or _secret_key(), tz=tz)


def sessions_frame(rows: Sequence, *, include_names: bool, secret_key: str, tz: str | None = None) -> pd.DataFrame:
    """Turn rows of `sessions_query` into the typed sessions frame, with created_date_local in `tz`."""
    pseudonyms: dict[str, str] = {}
    records = []
    for (sid, owner, name, fld, position, level, lang, created, last, count, stage, complete, early,
         prompt_tokens, completion_tokens, cost, model, overall, dimensions, furthest, model_ms) in rows:
        if owner not in pseudonyms:
            pseudonyms[owner] = pseudonym(owner, secret_key)
        created, last = created.replace(tzinfo=None), last.replace(tzinfo=None)  # aware UTC → naive, for Excel
        status = session_status(message_count=count, is_complete=complete, stage=stage)
        dims = _as_dict(dimensions)
        records.append((
            # created_date_local (None here) is filled below for the whole column at once.
            sid, pseudonyms[owner], storable_text(name or ""), owner, storable_text(fld), storable_text(position),
            level, lang, created, None, last,
            duration_minutes(created, last), count, status.key, status.label("zh-CN"), stage,
            _reached_stage(stage, early, furthest), bool(complete), bool(early),
            _score(overall), *(_score(dims.get(d)) for d in DIMENSIONS),
            (prompt_tokens or 0) + (completion_tokens or 0), float(cost or 0.0), round((model_ms or 0) / 1000, 1),
            model or "offline",
        ))
    frame = pd.DataFrame.from_records(records, columns=list(SESSION_COLUMNS))
    frame = frame.astype(SESSION_COLUMNS)
    local = frame["created_at"].dt.tz_localize(UTC).dt.tz_convert(time_zone(tz).key)
    frame["created_date_local"] = pd.Series(local.dt.date, index=frame.index, dtype="object")
    return frame if include_names else frame.drop(columns=list(NAME_COLUMNS))


def _reached_stage(stage: str, ended_early: bool, furthest: int | None) -> str:
    """How far the interview got: its stage, or for one ended early the stage it was left in."""
    if not ended_early:
        return stage
    return STAGES[furthest] if furthest is not None else STAGES[0]


def _as_dict(value) -> dict:
    """Report.dimensions as a dict, whether the driver already decoded the JSON or not."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _score(value) -> float:
    """A score as a float (NaN when missing); accepts a number or a {"score": n} object."""
    if isinstance(value, dict):
        value = value.get("score")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


# --- aggregates, all computed from the sessions frame (no further queries) -------------------------------


def headline(frame: pd.DataFrame) -> Headline:
    total = len(frame)
    completed = int(frame["is_complete"].sum())
    scores = frame["score_overall"].dropna()
    return Headline(
        sessions=total,
        candidates=int(frame["candidate"].nunique()),
        completed=completed,
        ended_early=int(frame["ended_early"].sum()),
        completion_rate=completed / total if total else None,
        mean_score=float(scores.mean()) if len(scores) else None,
        tokens=int(frame["tokens"].sum()),
        cost_usd=float(frame["cost_usd"].sum()),
    )


def daily_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Sessions started and completed per local calendar day (created_date_local), empty days as 0."""
    columns = ["date", "sessions", "completed"]
    if frame.empty:
        return pd.DataFrame({"date": pd.Series([], dtype="datetime64[us]"),
                             "sessions": pd.Series([], dtype="int64"), "completed": pd.Series([], dtype="int64")})
    days = pd.to_datetime(frame["created_date_local"]).astype("datetime64[us]")
    counts = frame.assign(date=days).groupby("date").agg(
        sessions=("session_id", "size"), completed=("is_complete", "sum")
    )
    full_range = pd.date_range(days.min(), days.max(), freq="D", unit="us", name="date")
    counts = counts.reindex(full_range, fill_value=0).astype("int64").reset_index()
    return counts[columns]


def field_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per field: sessions, completion rate, mean overall score, mean duration; busiest first."""
    summary = frame.groupby("field").agg(
        sessions=("session_id", "size"),
        completion_rate=("is_complete", "mean"),
        mean_score=("score_overall", "mean"),
        mean_duration_minutes=("duration_minutes", "mean"),
    )
    summary = summary.astype({"sessions": "int64", "completion_rate": "float64"})
    return summary.sort_values(["sessions", "field"], ascending=[False, True]).reset_index()


def stage_funnel(frame: pd.DataFrame) -> pd.DataFrame:
    """How many sessions reached each stage: every stage up to and including its reached_stage."""
    order = {stage: i for i, stage in enumerate(STAGES)}
    reached_index = frame["reached_stage"].map(order).fillna(0).astype("int64")
    total = len(frame)
    reached = [int((reached_index >= i).sum()) for i in range(len(STAGES))]
    return pd.DataFrame({
        "stage": list(STAGES),
        "sessions": reached,
        "share": [n / total if total else 0.0 for n in reached],
    })


def score_distribution(frame: pd.DataFrame) -> pd.DataFrame:
    """How many reports fall in each band of ten points of the overall score (0–9, …, 90–100)."""
    labels = [f"{lo}–{lo + 9}" for lo in SCORE_BINS[:-2]] + [f"{SCORE_BINS[-2]}–100"]
    edges = [*SCORE_BINS[:-1], math.inf]  # the top band is closed: 100 belongs to 90–100
    bands = pd.cut(frame["score_overall"].dropna(), bins=edges, labels=labels, right=False)
    counts = bands.value_counts().reindex(labels, fill_value=0)
    return pd.DataFrame({"band": labels, "sessions": counts.to_numpy(dtype="int64")})


def dimension_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean score per report dimension over the sessions that have a report."""
    return pd.DataFrame({
        "dimension": list(DIMENSIONS),
        "mean_score": [float(frame[f"score_{d}"].mean()) if len(frame) else math.nan for d in DIMENSIONS],
    })


def list_fields(*, engine: Engine) -> list[str]:
    """Every field that has sessions, for a filter's choices (one query)."""
    with engine.connect() as conn:
        return list(conn.execute(select(InterviewSession.field).distinct().order_by(InterviewSession.field)).scalars())


# --- exports --------------------------------------------------------------------------------------------


def check_format(fmt: str) -> str:
    """The normalised export format; ValueError naming the allowed ones otherwise."""
    normalised = (fmt or "").strip().lower()
    if normalised not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of: {', '.join(EXPORT_FORMATS)}")
    return normalised


UTC_COLUMNS = ("created_at", "last_activity")  # naive in the frame (Excel has no time zones), UTC by definition


def export_filename(fmt: str, now: datetime | None = None) -> str:
    return f"zhimian-sessions-{(now or utcnow()):%Y%m%d-%H%M%S}.{check_format(fmt)}"


# Cells a spreadsheet would run as a formula (or a DDE command) when they start with one of these.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XLSX (XML 1.0) cannot hold: C0 controls but tab, newline and CR; lone surrogates no file can encode.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_STORING = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def storable_text(value: str) -> str:
    """Text every export format can hold: a disallowed control character becomes a space, a lone surrogate �."""
    return _SURROGATE.sub("\ufffd", _UNSTORABLE.sub(" ", value))


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_TRIGGERS)


def _file_text(value, neutralise: bool):
    """A text cell made storable, and (neutralise) with a leading apostrophe when a spreadsheet would evaluate it:
    Excel shows '=1+1 as the text =1+1, as OWASP recommends for CSV. Anything else is returned as it is."""
    if not isinstance(value, str):
        return value
    if _NEEDS_STORING.search(value):
        value = storable_text(value)
    return "'" + value if neutralise and is_formula_like(value) else value


def _clean_text_columns(frame: pd.DataFrame, neutralise: bool) -> pd.DataFrame:
    cleaned = frame.copy()
    for column in frame.columns:
        if SESSION_COLUMNS.get(column) == "str":
            cleaned[column] = frame[column].astype(object).map(lambda v: _file_text(v, neutralise))
    return cleaned


def export_frame(frame: pd.DataFrame, fmt: str) -> ExportFile:
    """The frame as CSV (UTF-8 with BOM, for Excel), XLSX or JSON records (UTF-8, ISO dates).

    Every text cell is made storable first, so one bad row never breaks an export; in CSV a cell a spreadsheet
    would evaluate gets a leading apostrophe, in XLSX it is a text cell marked as quoted (shown as typed).
    """
    fmt = check_format(fmt)
    frame = _clean_text_columns(frame, neutralise=fmt == "csv")
    if fmt == "csv":
        # CRLF rows as RFC 4180 says: the csv writer then quotes every cell holding a CR or LF (with "\n" rows a
        # bare CR went out unquoted and split the row in Excel).
        content = frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    elif fmt == "xlsx":
        content = _xlsx_bytes(frame)
    else:
        # A calendar day as 'YYYY-MM-DD', not as a midnight timestamp; moments in UTC say so ('…Z'), as the API's do.
        days = frame.assign(created_date_local=frame["created_date_local"].map(date.isoformat),
                            **{column: frame[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ") for column in UTC_COLUMNS})
        text = days.to_json(orient="records", force_ascii=False)
        content = text.encode("utf-8")
    return ExportFile(content=content, media_type=MEDIA_TYPES[fmt], filename=export_filename(fmt))


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    # openpyxl's write-only mode streams rows: about twice as fast as DataFrame.to_excel on 10,000 sessions.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("sessions")
    sheet.append(list(frame.columns))
    cells = frame.astype(object).where(frame.notna(), None)
    for row in cells.itertuples(index=False, name=None):
        sheet.append([_text_cell(sheet, value) if isinstance(value, str) and is_formula_like(value) else value
                      for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    """A cell openpyxl would otherwise write as a formula (=...), kept as text with Excel's quote prefix: it shows
    exactly as typed and stays text when someone edits it."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def export_sessions(
    *, engine: Engine, filters: SessionFilters, fmt: str, include_names: bool = False, tz: str | None = None,
) -> ExportFile:
    """The filtered sessions as a file (dates local to `tz`); names and usernames only with include_names."""
    fmt = check_format(fmt)  # before touching the database
    return export_frame(load_sessions(engine=engine, filters=filters, include_names=include_names, tz=tz), fmt)


# --- command line: python -m core.stats export --format csv --out FILE ----------------------------------


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _parse_zone(value: str) -> str:
    # Typed by a person: a misspelt zone is refused here rather than silently replaced by the default.
    if time_zone(value).key != value:
        raise argparse.ArgumentTypeError(f"not an IANA time zone (e.g. Asia/Shanghai): {value!r}")
    return value


def _parse_completed(value: str) -> bool:
    answers = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}
    if value.strip().lower() not in answers:
        raise argparse.ArgumentTypeError(f"use yes or no, not {value!r}")
    return answers[value.strip().lower()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core.stats", description="Export interview-practice statistics.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the filtered sessions to a file")
    export.add_argument("--format", dest="fmt", choices=EXPORT_FORMATS, default="csv")
    export.add_argument("--out", required=True, type=Path, help="file to write")
    export.add_argument("--from", dest="date_from", type=_parse_date, help="first day (YYYY-MM-DD), inclusive")
    export.add_argument("--to", dest="date_to", type=_parse_date, help="last day (YYYY-MM-DD), inclusive")
    export.add_argument("--field")
    export.add_argument("--level")
    export.add_argument("--completed", type=_parse_completed, help="yes or no")
    export.add_argument("--include-names", action="store_true", help="add candidate_name and username columns")
    export.add_argument("--tz", type=_parse_zone, default=DEFAULT_TIMEZONE,
                        help=f"IANA time zone of --from/--to and created_date_local (default {DEFAULT_TIMEZONE})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from core.db import get_engine

    args = build_parser().parse_args(argv)
    filters = SessionFilters(date_from=args.date_from, date_to=args.date_to, field=args.field, level=args.level,
                             completed=args.completed)
    frame = load_sessions(engine=get_engine(), filters=filters, include_names=args.include_names, tz=args.tz)
    export = export_frame(frame, args.fmt)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(export.content)
    print(t("analytics.cli_written", "zh-CN", n=len(frame), path=args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
