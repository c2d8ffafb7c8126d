"""A candidate's progress across interviews and drills: scores over time, practice per week, what they miss most.

Everything is read for one owner (a parameter of every function, so no caller can forget it) in three queries:
the finished interviews with their reports, the sessions' start times, and the drill attempts. The key points come
from the same decisions the report and the drill show (covered / not clearly covered / missed, per question), so
"missed three times" here means three reports or drill results said so. A point counts as weak while its latest
decision is not "covered"; once covered again it moves to the improved list.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from statistics import mean
from typing import Literal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from core.db import get_engine, session_scope
from core.display import time_zone
from core.models import DIMENSIONS, DrillAttempt, InterviewSession, Report, UTCDateTime, utcnow
from core.sessions import InvalidInput

DEFAULT_WEEKS = 12  # practice-per-week bars shown
MAX_WEEKS = 104
MAX_ITEMS = 20  # weak points / topics listed at most
Status = Literal["covered", "unclear", "missed"]


class InvalidTimeZone(InvalidInput):
    """The time zone named for the weekly counts is not an IANA zone (clients answer it like any bad input)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"未知时区 {name!r}（例如 Asia/Shanghai） / "
                         f"not an IANA time zone (e.g. Asia/Shanghai): {name!r}")


# One finished interview on the score chart.
class ScorePoint(SQLModel):
    session_id: str
    title: str
    field: str
    language: str
    finished_at: UTCDateTime
    overall: int = Field(ge=0, le=100)
    dimensions: dict[str, int] = Field(description=f"{', '.join(DIMENSIONS)}: each 0–100")


# How much the candidate practised in one week (Monday to Sunday in the viewer's time zone).
class WeekCount(SQLModel):
    week_start: date
    interviews: int = Field(description="interviews started that week with at least one answer")
    drills: int = Field(description="drill answers that week")


# A key point of one question, with how often the candidate's answers covered it or not.
class PointProgress(SQLModel):
    point: str
    question_id: str | None = Field(description="the bank question; a drill link takes it as ?question=")
    question: str
    stage: str
    times_missed: int = Field(description="answers that missed it or did not explain it clearly")
    times_covered: int
    last_status: Status
    last_seen: UTCDateTime
    drillable: bool = Field(description="the question can be practised in the question drill")


# One question the candidate answered, in interviews and drills, with its scores (0–5).
class TopicProgress(SQLModel):
    question_id: str | None
    question: str
    stage: str
    attempts: int
    average_score: float
    last_score: float
    points_missed: int = Field(description="distinct key points missed or unclear in the latest answer")
    last_seen: UTCDateTime
    drillable: bool


# Everything the progress page and `GET /me/progress` show.
class ProgressPublic(SQLModel):
    interviews_started: int = Field(description="sessions with at least one answer")
    interviews_completed: int = Field(description="interviews with a report")
    drill_attempts: int
    latest_overall: int | None = None
    best_overall: int | None = None
    overall_change: int | None = Field(default=None, description="latest overall minus the first one's")
    dimension_averages: dict[str, int] = Field(default_factory=dict, description="over the last 5 interviews")
    scores: list[ScorePoint] = Field(description="finished interviews, oldest first")
    weeks: list[WeekCount] = Field(description="the last weeks, oldest first, empty weeks included")
    weak_points: list[PointProgress] = Field(description="missed or unclear in the latest answer, most missed first")
    improved_points: list[PointProgress] = Field(description="missed before, covered in the latest answer")
    weak_topics: list[TopicProgress] = Field(description="questions by average score, lowest first")
    time_zone: str

    @property
    def is_empty(self) -> bool:
        return not (self.interviews_started or self.drill_attempts)


# One answer to one question: from a report's per-question entry or from a drill attempt.
@dataclass(frozen=True)
class _Answer:
    question_id: str | None
    question: str
    stage: str
    score: float
    when: datetime
    statuses: tuple[tuple[str, Status], ...] = ()


# A key point's running counts while the answers are read in order.
@dataclass
class _PointTally:
    point: str
    answer: _Answer
    times_missed: int = 0
    times_covered: int = 0
    last_status: Status = "missed"

    def public(self) -> PointProgress:
        return PointProgress(point=self.point, question_id=self.answer.question_id, question=self.answer.question,
                             stage=self.answer.stage, times_missed=self.times_missed,
                             times_covered=self.times_covered, last_status=self.last_status,
                             last_seen=self.answer.when, drillable=is_drillable(self.answer.question_id))


# A report's answers, keyed by (session id, report updated_at): a report is read from JSON once per version, so a
# page showing 200 interviews decodes only the reports written since it was last shown.
_REPORT_ANSWERS: OrderedDict[tuple[str, datetime], tuple[_Answer, ...]] = OrderedDict()
_REPORT_ANSWERS_MAX = 5_000  # reports (~10 answers each; texts shared across reports by sys.intern)
_REPORT_ANSWERS_LOCK = threading.Lock()
_ID_CHUNK = 500  # ids per IN (...) query


def get_progress(*, owner: str, engine: Engine | None = None, tz: str | None = None,
                 weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> ProgressPublic:
    """The owner's progress; InvalidTimeZone for a zone name that is not an IANA zone."""
    zone_name = tz or time_zone().key
    if tz is not None and time_zone(tz).key != tz:
        raise InvalidTimeZone(tz)
    weeks = max(1, min(MAX_WEEKS, weeks))
    with session_scope(engine or get_engine()) as db:
        reports = db.execute(
            select(InterviewSession.id, InterviewSession.title, InterviewSession.target_position,
                   InterviewSession.field, InterviewSession.language, Report.created_at, Report.overall,
                   Report.dimensions, Report.updated_at)
            .join(Report, Report.session_id == InterviewSession.id)
            .where(InterviewSession.owner == owner)
            .order_by(Report.created_at, InterviewSession.id)
        ).all()
        report_answers = _answers_of_reports(db, [(row[0], row[8], row[5]) for row in reports])
        started = db.execute(
            select(InterviewSession.created_at)
            .where(InterviewSession.owner == owner, InterviewSession.message_count > 1)
        ).scalars().all()
        drills = db.execute(
            select(DrillAttempt.question_id, DrillAttempt.stage, DrillAttempt.score, DrillAttempt.result,
                   DrillAttempt.created_at)
            .where(DrillAttempt.owner == owner)
            .order_by(DrillAttempt.created_at, DrillAttempt.id)
        ).all()
    scores = [_score_point(row) for row in reports]
    answers = sorted([*report_answers, *(_drill_answer(row) for row in drills)], key=lambda a: a.when)
    points = _point_tallies(answers)
    overalls = [s.overall for s in scores]
    improved = sorted((p for p in points if p.last_status == "covered" and p.times_missed),
                      key=lambda p: p.answer.when, reverse=True)
    return ProgressPublic(
        interviews_started=len(started), interviews_completed=len(scores), drill_attempts=len(drills),
        latest_overall=overalls[-1] if overalls else None, best_overall=max(overalls) if overalls else None,
        overall_change=overalls[-1] - overalls[0] if len(overalls) > 1 else None,
        dimension_averages={k: round(mean(s.dimensions.get(k, 0) for s in scores[-5:])) for k in DIMENSIONS}
        if scores else {},
        scores=scores,
        weeks=_weekly_counts(started, [row.created_at for row in drills], zone_name, weeks, now or utcnow()),
        weak_points=[p.public() for p in _weakest(points)[:MAX_ITEMS]],
        improved_points=[p.public() for p in improved[:MAX_ITEMS]],
        weak_topics=_topic_progress(answers)[:MAX_ITEMS],
        time_zone=zone_name,
    )


def _answers_of_reports(db, reports: list[tuple[str, datetime, datetime]]) -> list[_Answer]:
    """The answers of these reports ((session id, updated_at, finished at)), decoding only uncached versions."""
    with _REPORT_ANSWERS_LOCK:
        cached = {(sid, updated): _REPORT_ANSWERS.get((sid, updated)) for sid, updated, _ in reports}
    missing = {sid: (updated, finished) for sid, updated, finished in reports if cached[(sid, updated)] is None}
    ids = list(missing)
    for start in range(0, len(ids), _ID_CHUNK):
        rows = db.execute(select(Report.session_id, Report.updated_at, Report.per_question)
                          .where(Report.session_id.in_(ids[start:start + _ID_CHUNK]))).all()
        for sid, updated, per_question in rows:
            if updated != missing[sid][0]:  # rewritten meanwhile: read it again next time
                continue
            answers = _report_answers(per_question, missing[sid][1])
            cached[(sid, updated)] = answers
            with _REPORT_ANSWERS_LOCK:
                _REPORT_ANSWERS[(sid, updated)] = answers
                while len(_REPORT_ANSWERS) > _REPORT_ANSWERS_MAX:
                    _REPORT_ANSWERS.popitem(last=False)
    return [a for answers in cached.values() if answers for a in answers]


def _score_point(row) -> ScorePoint:
    sid, title, position, fld, language, finished, overall, dimensions, _ = row
    dimensions = dimensions or {}
    return ScorePoint(session_id=sid, title=title or position, field=fld, language=language, finished_at=finished,
                      overall=int(overall or 0), dimensions={k: int(dimensions.get(k) or 0) for k in DIMENSIONS})


def _names(values) -> list[str]:
    """Point names from a stored list: plain strings or {"point": ...} (a single string in old reports)."""
    if isinstance(values, str):
        values = [values]
    names = []
    for value in values or []:
        name = value.get("point") if isinstance(value, dict) else value
        if isinstance(name, str) and name.strip():
            names.append(sys.intern(name.strip()))
    return names


def _statuses(stored: dict) -> tuple[tuple[str, Status], ...]:
    statuses: dict[str, Status] = {}
    for status in ("covered", "unclear", "missed"):  # one decision per point; a later list never overrides
        for name in _names(stored.get(status)):
            statuses.setdefault(name, status)
    return tuple(statuses.items())


def _report_answers(per_question: list | None, finished: datetime) -> tuple[_Answer, ...]:
    return tuple(
        _Answer(question_id=entry.get("question_id"), question=sys.intern(str(entry.get("question") or "")),
                stage=str(entry.get("stage") or ""), score=float(entry.get("score") or 0), when=finished,
                statuses=_statuses(entry))
        for entry in per_question or []
        if isinstance(entry, dict) and str(entry.get("answer") or "").strip()  # an unanswered question is no answer
    )


def _drill_answer(row) -> _Answer:
    question_id, stage, score, result, created = row
    return _Answer(question_id=question_id, question=_question_text(question_id), stage=stage, score=float(score),
                   when=created, statuses=_statuses(result or {}))


@lru_cache(maxsize=4096)
def _question_text(question_id: str) -> str:
    from core.drills import question_text

    return question_text(question_id)


@lru_cache(maxsize=4096)
def is_drillable(question_id: str | None) -> bool:
    """A bank question of a stage the question drill offers."""
    from core.drills import DRILL_STAGES
    from core.interviewer.bank import load_banks

    if not question_id:
        return False
    try:
        return load_banks().get(question_id).stage in DRILL_STAGES
    except KeyError:
        return False


def _question_key(answer: _Answer) -> str:
    return answer.question_id or f"text:{answer.question}"


def _point_tallies(answers: list[_Answer]) -> list[_PointTally]:
    """Every key point the candidate was judged on, with its counts and latest decision (answers oldest first)."""
    found: dict[tuple[str, str], _PointTally] = {}
    for answer in answers:
        question = _question_key(answer)
        for name, status in answer.statuses:
            tally = found.get((question, name))
            if tally is None:
                tally = found[(question, name)] = _PointTally(point=name, answer=answer)
            if status == "covered":
                tally.times_covered += 1
            else:
                tally.times_missed += 1
            tally.last_status, tally.answer = status, answer
    return list(found.values())


def _weakest(points: list[_PointTally]) -> list[_PointTally]:
    weak = [p for p in points if p.last_status != "covered"]
    # Missed most often first; then missed outright before merely unclear; then the most recent.
    return sorted(weak, key=lambda p: (-p.times_missed, p.last_status != "missed", -p.answer.when.timestamp()))


def _topic_progress(answers: list[_Answer]) -> list[TopicProgress]:
    grouped: dict[str, list[_Answer]] = {}
    for answer in answers:
        grouped.setdefault(_question_key(answer), []).append(answer)
    summaries = []
    for group in grouped.values():
        last = group[-1]
        summaries.append((round(mean(a.score for a in group), 1), len(group), last))
    # Lowest average first; of equals, the one answered most often (a persistent gap) and then the latest.
    summaries.sort(key=lambda s: (s[0], -s[1], -s[2].when.timestamp()))
    return [TopicProgress(question_id=last.question_id, question=last.question, stage=last.stage, attempts=attempts,
                          average_score=average, last_score=round(last.score, 1),
                          points_missed=sum(1 for _, status in last.statuses if status != "covered"),
                          last_seen=last.when, drillable=is_drillable(last.question_id))
            for average, attempts, last in summaries[:MAX_ITEMS]]


def _week_start(moment: datetime, zone) -> date:
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def _weekly_counts(interviews: list[datetime], drills: list[datetime], zone_name: str, weeks: int,
                   now: datetime) -> list[WeekCount]:
    zone = time_zone(zone_name)
    current = _week_start(now, zone)
    starts = [current - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = {start: [0, 0] for start in starts}
    for column, moments in ((0, interviews), (1, drills)):
        for moment in moments:
            week = counts.get(_week_start(moment, zone))
            if week is not None:
                week[column] += 1
    return [WeekCount(week_start=start, interviews=i, drills=d) for start, (i, d) in counts.items()]
