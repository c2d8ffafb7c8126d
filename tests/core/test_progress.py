"""My progress: scores over time, practice per week and the points missed most, across interviews and drills."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from core import drills, progress, sessions
from core.config import get_settings
from core.db import session_scope
from core.models import InterviewSession, Report
from tests.factories import make_session

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday; that week starts on Monday 2026-11-23
# Covers 原子性, 隔离性 and 持久性 of backend-zh-003 (the ACID question) and never mentions 一致性.
GOOD_ACID = ("原子性是说一个事务里的操作要么全做完要么全不做，失败了会用 undo log 回滚。"
             "隔离性是并发事务之间互相看不到对方没提交的修改，InnoDB 靠锁和 MVCC 做到。"
             "持久性就是提交之后哪怕机器宕机数据也还在，因为 redo log 已经刷盘了。")


def acid_entry(*, score: float, covered: list[str], unclear: list[str] = (), missed: list[str] = ()) -> dict:
    """A report's per-question entry for the ACID question, shaped as core.interviewer.report writes it."""
    return {"question_id": "backend-zh-003", "stage": "technical", "question": "说说数据库事务的 ACID。",
            "answer": "我的回答", "score": score, "evidence": [],
            "covered": [{"point": p, "evidence": ["我的回答"]} for p in covered], "unclear": list(unclear),
            "missed": list(missed), "misconception": None, "feedback": "", "better_answer": ""}


def finished_interview(engine, *, owner: str = "alice", when: datetime, overall: int, dimensions: dict | None = None,
                       per_question: list[dict] | None = None, language: str = "zh-CN") -> str:
    """An interview with one answer and a stored report, finished at `when`."""
    with session_scope(engine) as db:
        s = make_session(db, owner=owner, target_position="后端开发工程师", field="后端开发", language=language)
        sessions.add_message(db=db, session=s, role="user", content="我的回答", client_message_id="c1")
        s.created_at, s.last_activity, s.is_complete = when - timedelta(minutes=20), when, True
        db.add(s)
        dims = dimensions or {k: overall for k in ("knowledge", "communication", "logic", "project", "fit")}
        db.add(Report(session_id=s.id, overall=overall, dimensions=dims, strengths=[], improvements=[],
                      per_question=per_question or [], summary="", created_at=when, updated_at=when))
        db.commit()
        return s.id


def test_a_new_candidate_sees_an_empty_state(engine):
    result = progress.get_progress(owner="newbie", engine=engine, now=NOW)
    assert result.is_empty and result.interviews_completed == 0 and result.latest_overall is None
    assert result.scores == [] and result.weak_points == [] and result.weak_topics == []
    assert len(result.weeks) == 12 and all(w.interviews == w.drills == 0 for w in result.weeks)
    assert result.weeks[-1].week_start == date(2026, 11, 23)


def test_scores_over_time_oldest_first_with_latest_best_and_change(engine):
    finished_interview(engine, when=NOW - timedelta(days=20), overall=55,
                       dimensions={"knowledge": 40, "communication": 60, "logic": 50, "project": 70, "fit": 55})
    finished_interview(engine, when=NOW - timedelta(days=2), overall=71)
    finished_interview(engine, when=NOW - timedelta(days=9), overall=80)
    with session_scope(engine) as db:  # started, never finished: practice, but no score
        s = make_session(db, owner="alice", target_position="前端", field="前端开发")
        sessions.add_message(db=db, session=s, role="user", content="你好", client_message_id="x")
        db.commit()
    result = progress.get_progress(owner="alice", engine=engine, now=NOW)
    assert [s.overall for s in result.scores] == [55, 80, 71]
    assert result.scores[0].dimensions["knowledge"] == 40
    assert (result.latest_overall, result.best_overall, result.overall_change) == (71, 80, 16)
    assert result.interviews_started == 4 and result.interviews_completed == 3 and not result.is_empty
    assert result.dimension_averages["knowledge"] == round((40 + 80 + 71) / 3)


def test_practice_counts_by_week_in_beijing_time(engine):
    # Sunday 23:30 in Beijing is still last week; Monday 00:30 in Beijing (Sunday 16:30 UTC) is this week.
    finished_interview(engine, when=datetime(2026, 11, 22, 15, 30, tzinfo=UTC) + timedelta(minutes=20), overall=60)
    finished_interview(engine, when=datetime(2026, 11, 22, 16, 30, tzinfo=UTC) + timedelta(minutes=20), overall=60)
    finished_interview(engine, when=NOW - timedelta(weeks=30), overall=60)  # outside the 12 weeks shown
    drills.evaluate(owner="alice", question_id="backend-zh-003", answer=GOOD_ACID, engine=engine)
    result = progress.get_progress(owner="alice", engine=engine, now=NOW + timedelta(days=1))
    by_week = {w.week_start: (w.interviews, w.drills) for w in result.weeks}
    assert by_week[date(2026, 11, 16)] == (1, 0)
    assert by_week[date(2026, 11, 23)] == (1, 1)  # the drill was answered just now (this week, whatever the date)
    assert sum(i for i, _ in by_week.values()) == 2 and result.interviews_started == 3
    utc = progress.get_progress(owner="alice", engine=engine, now=NOW + timedelta(days=1), tz="UTC")
    assert {w.week_start: w.interviews for w in utc.weeks}[date(2026, 11, 16)] == 2  # both on Sunday in UTC


def test_missed_points_count_interviews_and_drills_and_link_the_question(engine):
    finished_interview(engine, when=NOW - timedelta(days=10), overall=50, per_question=[
        acid_entry(score=2.0, covered=["原子性"], unclear=["隔离性"], missed=["一致性", "持久性"])])
    drills.evaluate(owner="alice", question_id="backend-zh-003", answer=GOOD_ACID, engine=engine)
    result = progress.get_progress(owner="alice", engine=engine)
    weak = {p.point: p for p in result.weak_points}
    assert "一致性" in weak, [p.point for p in result.weak_points]
    consistency = weak["一致性"]
    assert consistency.times_missed == 2 and consistency.times_covered == 0
    assert consistency.question_id == "backend-zh-003" and consistency.drillable
    assert result.weak_points[0].point == "一致性"  # missed most often comes first
    # 持久性 and 隔离性 were missed or unclear in the interview, then covered in the drill: improved, not weak.
    improved = {p.point for p in result.improved_points}
    assert {"持久性", "隔离性"} <= improved and not improved & set(weak)
    topic = next(t for t in result.weak_topics if t.question_id == "backend-zh-003")
    assert topic.attempts == 2 and topic.drillable and topic.question


def test_a_real_interview_s_report_feeds_the_weak_points(engine):
    """Played through the real service and offline interviewer: the page lists exactly what the report missed."""
    from core import demo

    settings = get_settings().model_copy(update={"INTERVIEWER_MODEL": ""})
    scenario = demo.Scenario(owner="bob", info={"candidate_name": "王芳", "target_position": "Java后端开发工程师",
                                                "field": "后端开发", "level": "mid", "language": "zh-CN"},
                             skill=0.35, outcome="complete", stop_after=9, start=NOW - timedelta(days=1))
    session_id = demo.play(scenario, engine=engine, settings=settings, rng=random.Random(3), now=NOW)
    with session_scope(engine) as db:
        report = db.get(Report, session_id)
        expected = {(e["question_id"], p) for e in report.per_question if e["answer"].strip()
                    for p in [*e["missed"], *e["unclear"]]}
    assert expected, "a weak candidate's report misses points"
    result = progress.get_progress(owner="bob", engine=engine)
    shown = {(p.question_id, p.point) for p in result.weak_points}
    assert shown <= expected and len(shown) == min(len(expected), progress.MAX_ITEMS)
    assert result.scores[0].session_id == session_id and result.scores[0].overall == report.overall


def test_one_candidate_never_sees_another_s_practice(engine):
    finished_interview(engine, owner="alice", when=NOW - timedelta(days=1), overall=90, per_question=[
        acid_entry(score=1.0, covered=[], missed=["一致性"])])
    drills.evaluate(owner="alice", question_id="backend-zh-003", answer=GOOD_ACID, engine=engine)
    other = progress.get_progress(owner="mallory", engine=engine)
    assert other.is_empty and other.scores == [] and other.weak_points == [] and other.drill_attempts == 0
    with session_scope(engine) as db:
        assert db.query(InterviewSession).count() == 1  # alice's data is there


def test_an_unknown_time_zone_is_refused_with_a_clear_message(engine):
    with pytest.raises(progress.InvalidTimeZone, match="Asia/Shanghai"):
        progress.get_progress(owner="alice", engine=engine, tz="Mars/Olympus")


def test_a_rewritten_report_is_read_again(engine):
    """Reports are decoded once per version: a regenerated report (new updated_at) shows its new decisions."""
    session_id = finished_interview(engine, when=NOW - timedelta(days=3), overall=40, per_question=[
        acid_entry(score=1.0, covered=[], missed=["一致性"])])
    assert [p.point for p in progress.get_progress(owner="alice", engine=engine).weak_points] == ["一致性"]
    with session_scope(engine) as db:
        report = db.get(Report, session_id)
        report.per_question = [acid_entry(score=4.0, covered=["一致性"], missed=["隔离性"])]
        report.updated_at = NOW
        db.add(report)
        db.commit()
    result = progress.get_progress(owner="alice", engine=engine)
    assert [p.point for p in result.weak_points] == ["隔离性"]
    assert result.weak_topics[0].last_score == 4.0
