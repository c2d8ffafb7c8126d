"""Session service on a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core import sessions
from core.config import load_settings
from core.interviewer import turns
from core.models import Evaluation, InterviewSession, Message, Report, UserState
from tests.factories import add_exchange, make_session


def test_create_stores_everything_the_candidate_gave(db):
    s = make_session(db, owner="alice", job_description="熟悉 React 与 TypeScript", level="senior", language="en")
    db.expunge_all()
    stored = sessions.get_session(db=db, owner="alice", session_id=s.id)
    assert (stored.target_position, stored.field, stored.level, stored.language) == (
        "React前端开发工程师", "前端开发", "senior", "en")
    assert stored.job_description == "熟悉 React 与 TypeScript"
    assert stored.interview_stage == "self_intro" and not stored.is_complete  # the welcome asks for an introduction
    assert stored.message_count == 1 and len(stored.id) == 36
    [welcome] = sessions.get_history(db=db, owner="alice", session_id=s.id).messages
    assert welcome.role == "assistant" and welcome.kind == "welcome" and "张三" in welcome.content


def test_list_is_newest_activity_first_with_counts(db):
    old = make_session(db, target_position="数据分析师", field="数据分析")
    new = make_session(db, target_position="Java后端工程师", field="后端开发")
    add_exchange(db, old, n=2)  # activity moves the older session to the top
    summaries = sessions.list_session_summaries(db=db, owner="alice")
    assert [s.session_id for s in summaries] == [old.id, new.id]
    assert summaries[0].message_count == 5 and summaries[1].message_count == 1  # the welcome counts
    assert summaries[0].title == "数据分析师" and summaries[0].field == "数据分析"
    assert {s.status for s in summaries} == {"in_progress", "started"}


def test_list_uses_one_query_whatever_the_number_of_sessions(db, engine, count_statements):
    for i in range(3):
        add_exchange(db, make_session(db, target_position=f"岗位{i}"), n=3)
    with count_statements(engine) as few:
        assert len(sessions.list_session_summaries(db=db, owner="alice")) == 3
    for i in range(30):
        make_session(db, target_position=f"更多岗位{i}")
    with count_statements(engine) as many:
        assert len(sessions.list_session_summaries(db=db, owner="alice")) == 33
    assert len(few.statements) == len(many.statements) == 1


def test_history_returns_messages_in_order(db):
    s = make_session(db)
    add_exchange(db, s, n=2)
    history = sessions.get_history(db=db, owner="alice", session_id=s.id)
    assert [(m.role, m.content) for m in history.messages[1:]] == [
        ("assistant", "问题 0"), ("user", "回答 0"), ("assistant", "问题 1"), ("user", "回答 1")]
    assert history.messages[0].kind == "welcome"
    assert all(m.status == "complete" for m in history.messages)


def test_another_users_session_is_indistinguishable_from_a_missing_one(db):
    s = make_session(db, owner="alice")
    errors = []
    for call in (sessions.get_session, sessions.get_history, sessions.delete_session, sessions.open_session):
        for sid in (s.id, "00000000-0000-0000-0000-000000000000"):
            with pytest.raises(sessions.SessionNotFound) as info:
                call(db=db, owner="mallory", session_id=sid)
            errors.append(str(info.value))
    assert len(set(errors)) == 1
    assert sessions.list_session_summaries(db=db, owner="mallory") == []
    assert sessions.get_session(db=db, owner="alice", session_id=s.id).owner == "alice"


def test_delete_removes_every_row_of_the_session(db):
    s = make_session(db)
    other = make_session(db, target_position="保留的会话")
    add_exchange(db, s, n=2)
    add_exchange(db, other, n=1)
    msg_id = db.execute(select(Message.id).where(Message.session_id == s.id)).scalars().first()
    db.add(Evaluation(session_id=s.id, message_id=msg_id, stage="technical", score=3))
    db.add(Report(session_id=s.id, overall=70))
    db.commit()
    sessions.open_session(db=db, owner="alice", session_id=s.id)
    sessions.delete_session(db=db, owner="alice", session_id=s.id)
    for table in (Message, Evaluation, Report):
        assert db.execute(select(func.count()).select_from(table).where(table.session_id == s.id)).scalar() == 0
    assert db.get(InterviewSession, s.id) is None
    assert db.get(UserState, "alice").last_session_id is None
    assert db.execute(select(func.count()).where(Message.session_id == other.id)).scalar() == 3


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"target_position": ""}, "target_position"),
        ({"target_position": "岗" * 101}, "1–100"),
        ({"field": "领" * 51}, "50"),
        ({"level": "expert"}, "unknown level"),
        ({"language": "fr"}, "unknown language"),
    ],
)
def test_invalid_input_is_refused_with_a_clear_message(db, override, fragment):
    with pytest.raises(sessions.InvalidInput, match=fragment):
        make_session(db, **override)
    assert sessions.list_session_summaries(db=db, owner="alice") == []


@pytest.mark.parametrize(("content", "ok"), [("", False), ("   ", False), ("好", True), ("字" * 4000, True),
                                             ("字" * 4001, False), (None, False), (7, False), (" 好 ", True)])
def test_message_length_rules(content, ok):
    if ok:
        assert sessions.validate_message(content).content == content.strip()
    else:
        with pytest.raises(sessions.InvalidInput):
            sessions.validate_message(content)


@pytest.mark.parametrize(("cmid", "expected"), [(None, None), ("c-1", "c-1"), (" c-1 ", "c-1"), ("   ", None),
                                               ("x" * 64, "x" * 64), ("", ValueError), ("x" * 65, ValueError),
                                               (7, ValueError)])
def test_client_message_id_rules(cmid, expected):
    """One rule for every client: None or 1–64 characters; blank means the server picks the id."""
    if expected is ValueError:
        with pytest.raises(sessions.InvalidInput, match="1–64"):
            sessions.validate_message("好", cmid)
    else:
        assert sessions.validate_message("好", cmid).client_message_id == expected


def test_session_limit_per_user(db):
    settings = load_settings({"MAX_SESSIONS_PER_USER": "2", "SECRET_KEY": "k" * 40})
    engine = db.get_bind()
    for i in range(2):
        turns.start_interview(owner="bob", info={"target_position": f"p{i}"}, engine=engine, settings=settings)
    with pytest.raises(sessions.SessionLimitReached, match="2"):
        turns.start_interview(owner="bob", info={"target_position": "p3"}, engine=engine, settings=settings)
    turns.start_interview(owner="carol", info={"target_position": "p"}, engine=engine, settings=settings)
    assert sessions.count_sessions(db=db, owner="bob") == 2


def test_restore_order(db):
    assert sessions.choose_session_to_open(db=db, owner="alice", requested_id=None).source == "none"
    first = make_session(db)
    second = make_session(db, target_position="后来的")
    foreign = make_session(db, owner="mallory")
    # creating remembers the newest as the open session
    choice = sessions.choose_session_to_open(db=db, owner="alice", requested_id=None)
    assert (choice.session_id, choice.source) == (second.id, "last_open")
    assert sessions.choose_session_to_open(db=db, owner="alice", requested_id=first.id).session_id == first.id
    for bad in (foreign.id, "not-a-session"):
        choice = sessions.choose_session_to_open(db=db, owner="alice", requested_id=bad)
        assert choice.url_rejected and choice.session_id == second.id
    sessions.delete_session(db=db, owner="alice", session_id=second.id)
    choice = sessions.choose_session_to_open(db=db, owner="alice", requested_id=None)
    assert (choice.session_id, choice.source) == (first.id, "newest")


def test_summary_of_a_loaded_session_matches_the_list_row(db):
    s = make_session(db)
    add_exchange(db, s, n=2)
    [listed] = sessions.list_session_summaries(db=db, owner="alice")
    loaded = sessions.get_session(db=db, owner="alice", session_id=s.id)
    assert sessions.summarize_session(loaded) == listed


def test_live_view_reads_complete_replies_with_their_answers(db):
    s = make_session(db)
    welcome = sessions.get_history(db=db, owner="alice", session_id=s.id).messages[0]
    answer = sessions.add_message(db=db, session=s, role="user", content="我做前端", client_message_id="c-1")
    reply = sessions.add_message(db=db, session=s, role="assistant", content="说说 React", kind="follow_up",
                                 reply_to_id=answer.id)
    sessions.add_message(db=db, session=s, role="assistant", content="半截", status="incomplete")
    db.commit()
    assert sessions.latest_reply_id(db=db, owner="alice", session_id=s.id) == reply.id
    assert sessions.latest_reply_id(db=db, owner="bob", session_id=s.id) == 0
    stored = sessions.list_replies_after(db=db, owner="alice", session_id=s.id, after_id=0)
    pairs = [(r.reply.id, r.answer.id if r.answer else None) for r in stored]
    assert pairs == [(welcome.id, None), (reply.id, answer.id)]
    assert stored[1].reply.content == "说说 React" and stored[1].reply.kind == "follow_up"
    assert stored[1].answer.client_message_id == "c-1" and stored[1].answer.role == "user"
    assert stored[0].reply == welcome
    assert stored[1].reply == sessions.MessagePublic.model_validate(reply, from_attributes=True)
    assert [r.reply.id for r in sessions.list_replies_after(db=db, owner="alice", session_id=s.id,
                                                            after_id=welcome.id)] == [reply.id]
    assert sessions.list_replies_after(db=db, owner="bob", session_id=s.id, after_id=0) == []


def test_pulses_leave_out_deleted_and_foreign_sessions(db):
    mine, gone, theirs = make_session(db), make_session(db), make_session(db, owner="bob")
    add_exchange(db, mine, n=2)
    sessions.delete_session(db=db, owner="alice", session_id=gone.id)
    pulses = sessions.read_pulses(db=db, owners={mine.id: "alice", gone.id: "alice", theirs.id: "alice"})
    assert pulses == {mine.id: sessions.SessionPulse(5, "self_intro", False)}
    assert sessions.get_summary(db=db, owner="alice", session_id=mine.id).message_count == 5
    with pytest.raises(sessions.SessionNotFound):
        sessions.get_summary(db=db, owner="alice", session_id=theirs.id)


def test_list_and_loaded_sessions_give_aware_utc_times_on_both_databases(db):
    """SQLModel stores aware times and returns them in UTC; the list's own fast reading of them agrees, to the
    microsecond, whatever offset the time was written with."""
    s = make_session(db)
    shanghai = timezone(timedelta(hours=8))
    s.created_at = datetime(2026, 11, 26, 20, 20, 24, 123456, tzinfo=shanghai)
    s.last_activity = datetime(2026, 11, 26, 21, 5, 0, tzinfo=shanghai)
    db.add(s)
    db.commit()
    db.expunge_all()
    [listed] = sessions.list_session_summaries(db=db, owner="alice")
    loaded = sessions.get_session(db=db, owner="alice", session_id=s.id)
    for moment in (listed.created_at, listed.last_activity, loaded.created_at, loaded.last_activity):
        assert moment.utcoffset() == timedelta(0)
    assert listed.created_at == loaded.created_at == datetime(2026, 11, 26, 12, 20, 24, 123456, tzinfo=UTC)
    assert listed.last_activity == datetime(2026, 11, 26, 13, 5, tzinfo=UTC) and listed.duration_minutes == 44
