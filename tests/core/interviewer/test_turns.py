"""The turn service on both databases: start, idempotent turns, ownership, the lease, ending, reports."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import sessions
from core.config import load_settings
from core.db import session_scope
from core.interviewer import turns
from core.interviewer.turns import InterviewCompleted, ReportNotReady, TokenDelta, TurnBusy, TurnResult
from core.models import Evaluation, InterviewSession, Message, Report, utcnow

INFO = {"candidate_name": "张三", "target_position": "React前端开发工程师", "field": "前端开发", "level": "mid",
        "language": "zh-CN"}
ANSWER = ("React 的 useEffect 会在依赖变化时重新执行，空数组表示只在挂载时执行一次，返回的清理函数会在卸载或下次执行前"
          "调用。比如我在项目里用它订阅 WebSocket，卸载时取消订阅，避免了内存泄漏。")


@pytest.fixture
def offline_settings():
    return load_settings({"DEMO_MODE": "true"})


def _run(engine, settings, session_id, content, cmid=None, owner="alice"):
    events = list(turns.run_turn(owner=owner, session_id=session_id, content=content, client_message_id=cmid,
                                 engine=engine, settings=settings))
    assert isinstance(events[-1], TurnResult)
    assert all(isinstance(e, TokenDelta) for e in events[:-1])
    return events


def _messages(engine, session_id):
    with session_scope(engine) as db:
        return list(db.execute(select(Message).where(Message.session_id == session_id).order_by(Message.id)).scalars())


def test_start_builds_plan_and_welcome(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    session = start.session
    assert session.interview_stage == "self_intro"
    assert start.message.kind == "welcome" and start.message.role == "assistant"
    items = session.plan["items"]
    stages = [i["stage"] for i in items]
    assert stages[0] == "self_intro" and stages[-1] == "wrap_up"
    assert stages.count("technical") == 4 and stages.count("project") == 2 and stages.count("behavioral") == 2
    assert len({i["id"] for i in items}) == len(items)
    assert items[0]["question"].rstrip("？?。") in start.message.content or "自我介绍" in start.message.content
    with session_scope(engine) as db:
        stored = db.get(InterviewSession, session.id)
        assert stored.plan == session.plan and stored.message_count == 1


def test_start_validates_and_limits(engine):
    settings = load_settings({"DEMO_MODE": "true", "MAX_SESSIONS_PER_USER": "1"})
    with pytest.raises(sessions.InvalidInput):
        turns.start_interview(owner="alice", info={**INFO, "level": "expert"}, engine=engine, settings=settings)
    turns.start_interview(owner="alice", info=INFO, engine=engine, settings=settings)
    with pytest.raises(sessions.SessionLimitReached):
        turns.start_interview(owner="alice", info=INFO, engine=engine, settings=settings)


def test_turn_streams_stores_and_is_idempotent(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    events = _run(engine, offline_settings, start.session.id, "我叫张三，毕业于浙江大学计算机专业。", cmid="c1")
    result = events[-1]
    assert len(events) > 3  # several deltas: clients stream
    assert "".join(e.text for e in events[:-1]) == result.reply.content
    assert result.user_message.client_message_id == "c1" and not result.replayed
    count = len(_messages(engine, start.session.id))

    again = _run(engine, offline_settings, start.session.id, "我叫张三，毕业于浙江大学计算机专业。", cmid="c1")
    assert again[-1].replayed and again[-1].reply.id == result.reply.id
    assert [e.text for e in again[:-1]] == [result.reply.content]
    assert len(_messages(engine, start.session.id)) == count
    with session_scope(engine) as db:
        reply = db.get(Message, result.reply.id)
        assert reply.reply_to_id == result.user_message.id and reply.status == "complete"
        evaluations = list(db.execute(select(Evaluation).where(Evaluation.session_id == start.session.id)).scalars())
        assert len(evaluations) == 1 and evaluations[0].message_id == result.user_message.id


def test_other_owner_and_missing_session(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    with pytest.raises(sessions.SessionNotFound):
        _run(engine, offline_settings, start.session.id, "你好", owner="mallory")
    with pytest.raises(sessions.SessionNotFound):
        _run(engine, offline_settings, "no-such-session", "你好")
    with pytest.raises(sessions.SessionNotFound):
        turns.end_interview(owner="mallory", session_id=start.session.id, engine=engine, settings=offline_settings)
    with pytest.raises(sessions.SessionNotFound):
        turns.get_report(owner="mallory", session_id=start.session.id, engine=engine)
    assert len(_messages(engine, start.session.id)) == 1


def test_invalid_message_is_refused(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    with pytest.raises(sessions.InvalidInput):
        _run(engine, offline_settings, start.session.id, "   ")
    with pytest.raises(sessions.InvalidInput):
        _run(engine, offline_settings, start.session.id, "x" * 4001)


def test_turns_over_the_users_rate_are_refused_before_anything_is_stored(engine):
    from core.ratelimit import RateLimited

    settings = load_settings({"DEMO_MODE": "true", "TURN_RATE_LIMIT": "2/minute"})
    mine = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=settings).session.id
    for n in range(2):
        _run(engine, settings, mine, f"我的第 {n + 1} 个回答，讲讲 React。")
    with pytest.raises(RateLimited) as refused:
        _run(engine, settings, mine, "第三个回答")
    assert 1 <= refused.value.retry_after <= 60 and str(refused.value.retry_after) in str(refused.value)
    assert len(_messages(engine, mine)) == 5  # welcome + two exchanges: the refused answer was not stored
    theirs = turns.start_interview(owner="bob", info=INFO, engine=engine, settings=settings).session.id
    _run(engine, settings, theirs, "你好", owner="bob")  # the limit is per user
    # Server-side batch tools (demo seed, simulations) opt out; no client does.
    events = list(turns.run_turn(owner="alice", session_id=mine, content="第三个回答", engine=engine,
                                 settings=settings, rate_limit=False))
    assert isinstance(events[-1], TurnResult)


def test_busy_lease_from_another_connection(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    sid = start.session.id
    holder_ready, release = threading.Event(), threading.Event()

    def hold():
        with engine.begin() as conn:
            conn.execute(update(InterviewSession).where(InterviewSession.id == sid).values(
                turn_lock_token="other-process", turn_lock_until=utcnow() + timedelta(seconds=60)))
        holder_ready.set()
        release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holder_ready.wait(10)
    try:
        with pytest.raises(TurnBusy):
            _run(engine, offline_settings, sid, ANSWER)
        with pytest.raises(TurnBusy):
            turns.end_interview(owner="alice", session_id=sid, engine=engine, settings=offline_settings)
        assert len(_messages(engine, sid)) == 1  # nothing stored while busy
    finally:
        release.set()
        thread.join()
    with engine.begin() as conn:  # an expired lease is taken over
        conn.execute(update(InterviewSession).where(InterviewSession.id == sid).values(
            turn_lock_until=utcnow() - timedelta(seconds=1)))
    assert _run(engine, offline_settings, sid, ANSWER)[-1].reply.content


def test_lease_released_after_turn_and_after_early_stop(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    sid = start.session.id
    _run(engine, offline_settings, sid, "我叫张三，毕业于浙江大学计算机专业。", cmid="a")
    gen = turns.run_turn(owner="alice", session_id=sid, content=ANSWER, client_message_id="b", engine=engine,
                         settings=offline_settings)
    assert isinstance(next(gen), TokenDelta)
    gen.close()  # the consumer went away mid-stream: no complete reply, lease released
    with session_scope(engine) as db:
        session = db.get(InterviewSession, sid)
        assert session.turn_lock_token is None
    pending = turns.pending_answer(owner="alice", session_id=sid, engine=engine)
    assert pending is not None and pending.client_message_id == "b"
    events = _run(engine, offline_settings, sid, ANSWER, cmid="b")
    assert not events[-1].replayed
    replies = [m for m in _messages(engine, sid) if m.reply_to_id == pending.id]
    assert len(replies) == 1
    assert turns.pending_answer(owner="alice", session_id=sid, engine=engine) is None


def test_end_interview_early_builds_report(engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=offline_settings)
    sid = start.session.id
    with pytest.raises(ReportNotReady):
        turns.generate_report(owner="alice", session_id=sid, engine=engine, settings=offline_settings)
    _run(engine, offline_settings, sid, "我叫张三，毕业于浙江大学计算机专业，有三年前端开发经验，擅长 React。")
    result = turns.end_interview(owner="alice", session_id=sid, engine=engine, settings=offline_settings)
    assert result.is_complete and result.interview_stage == "completed" and result.user_message is None
    assert result.reply.kind == "closing"
    report = turns.get_report(owner="alice", session_id=sid, engine=engine)
    assert report is not None and 0 <= report.overall <= 100
    assert set(report.dimensions) == {"knowledge", "communication", "logic", "project", "fit"}
    with session_scope(engine) as db:
        session = db.get(InterviewSession, sid)
        assert session.ended_early and session.overall_score == report.overall
    with pytest.raises(InterviewCompleted):
        _run(engine, offline_settings, sid, "还有一个问题")
    again = turns.end_interview(owner="alice", session_id=sid, engine=engine, settings=offline_settings)
    assert again.replayed and again.reply.id == result.reply.id
    regenerated = turns.generate_report(owner="alice", session_id=sid, regenerate=True, engine=engine,
                                        settings=offline_settings)
    assert regenerated.overall == report.overall
    with session_scope(engine) as db:
        assert len(list(db.execute(select(Report).where(Report.session_id == sid)).scalars())) == 1


def test_stage_progress():
    assert turns.stage_progress("welcome") == (1, 7)
    assert turns.stage_progress("self_intro") == (2, 7)
    assert turns.stage_progress("wrap_up") == (7, 7)
    assert turns.stage_progress("completed") == (7, 7)


def test_full_offline_interview_on_both_databases(engine, offline_settings):
    from core.interviewer.simulate import run_persona

    result = run_persona("strong", engine=engine, settings=offline_settings, owner="alice")
    assert result.problems == []
    assert result.is_complete and result.overall is not None and result.overall >= 80
    with session_scope(engine) as db:
        session = db.get(InterviewSession, result.session_id)
        assert session.turn_lock_token is None and session.message_count == len(_messages(engine, session.id))
    # a retry of the final turn replays it instead of failing on the completed interview
    last = f"strong-{result.turns - 1}"
    events = _run(engine, offline_settings, result.session_id, "没有了，谢谢您今天的时间。", cmid=last, owner="alice")
    assert events[-1].replayed and events[-1].is_complete


def test_a_report_never_claims_a_whole_interview_that_was_ended_early(sqlite_engine, offline_settings):
    start = turns.start_interview(owner="alice", info=INFO, engine=sqlite_engine, settings=offline_settings)
    _run(sqlite_engine, offline_settings, start.session.id, "不知道")
    turns.end_interview(owner="alice", session_id=start.session.id, engine=sqlite_engine, settings=offline_settings)
    report = turns.get_report(owner="alice", session_id=start.session.id, engine=sqlite_engine)
    assert not any("整场" in s or "whole interview" in s for s in report.strengths)
    assert "提前结束" in report.summary
