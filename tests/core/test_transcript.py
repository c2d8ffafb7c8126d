"""Transcripts (Markdown for people, JSON for tools) of a real interview, on both databases."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from core import sessions
from core.config import load_settings
from core.db import session_scope
from core.i18n import t
from core.interviewer import turns
from core.models import InterviewSession, MessagePublic, Report
from core.transcript import DIMENSIONS, transcript_json, transcript_markdown

INFO = {"candidate_name": "张三", "target_position": "React前端开发工程师", "field": "前端开发", "level": "mid",
        "language": "zh-CN"}
ANSWER = ("我叫张三，三年 React 经验。\n负责过组件库和首屏性能优化，把首屏时间从 3 秒降到 1.2 秒。")


def _utc(text: str) -> datetime:
    """A transcript time: valid ISO 8601 that datetime.fromisoformat reads, in UTC."""
    moment = datetime.fromisoformat(text)
    assert text.endswith("Z") and moment.utcoffset() == timedelta(0), text
    return moment


@pytest.fixture
def finished(engine):
    """A short interview, ended early (so it has a report), read back as the report page reads it."""
    settings = load_settings({"DEMO_MODE": "true"})
    started = turns.start_interview(owner="alice", info=INFO, engine=engine, settings=settings)
    sid = started.session.id
    list(turns.run_turn(owner="alice", session_id=sid, content=ANSWER, client_message_id="t-1", engine=engine,
                        settings=settings))
    turns.end_interview(owner="alice", session_id=sid, engine=engine, settings=settings)

    def read(render):
        with session_scope(engine) as db:
            history = sessions.get_history(db=db, owner="alice", session_id=sid)
            return render(history, db.get(Report, sid))

    return read


def test_json_transcript_holds_the_conversation_the_report_and_utc_times(finished):
    data = finished(transcript_json)
    data = json.loads(json.dumps(data, ensure_ascii=False))  # JSON-ready as it is
    assert data["format_version"] == 1
    session = data["session"]
    assert session["candidate_name"] == "张三" and session["title"] == "React前端开发工程师"
    assert session["is_complete"] is True and session["ended_early"] is True and session["message_count"] == 4
    messages = data["messages"]
    assert [(m["role"], m["kind"]) for m in messages] == [
        ("assistant", "welcome"), ("user", "answer"), ("assistant", messages[2]["kind"]), ("assistant", "closing")]
    assert messages[1]["content"] == ANSWER and all(m["content"] and m["status"] == "complete" for m in messages)

    started, last = _utc(session["created_at"]), _utc(session["last_activity"])
    times = [_utc(m["created_at"]) for m in messages]
    assert started <= times[0] and times == sorted(times) and times[-1] <= last
    assert abs(datetime.now(UTC) - started) < timedelta(minutes=5)

    report = data["report"]
    assert 0 <= report["overall"] <= 100 and set(report["dimensions"]) == set(DIMENSIONS)
    assert report["strengths"] and report["improvements"] and report["summary"]
    answered = [q for q in report["per_question"] if q["answer"]]
    assert answered and answered[0]["answer"] == ANSWER
    assert _utc(report["created_at"]) <= _utc(report["updated_at"])


def test_markdown_transcript_has_details_quoted_messages_and_the_report(finished):
    text = finished(lambda history, report: transcript_markdown(history, report, "zh-CN"))
    assert text.startswith(f"# {t('transcript.heading')} · React前端开发工程师\n")
    assert f"- {t('new.name')}: 张三\n" in text and f"- {t('new.field')}: 前端开发\n" in text
    started = re.search(rf"- {re.escape(t('transcript.started'))}: (\S+)", text)
    assert started and _utc(started.group(1))

    conversation = text.split(f"## {t('transcript.conversation')}")[1].split(f"## {t('report.title')}")[0]
    speakers = re.findall(r"^\*\*(.+?)\*\* · (\S+)$", conversation, flags=re.M)
    who = [name for name, _ in speakers]
    assert who == [t("transcript.interviewer"), t("transcript.candidate"), t("transcript.interviewer"),
                   t("transcript.interviewer")]
    assert all(_utc(moment) for _, moment in speakers)
    assert "> 我叫张三，三年 React 经验。\n> 负责过组件库" in conversation  # every line of a message is quoted

    report = text.split(f"## {t('report.title')}")[1]
    assert re.search(rf"\*\*{t('report.overall')}: \d+/100\*\*", report)
    for key in DIMENSIONS:
        assert re.search(rf"^\| {re.escape(t('dimension.' + key))} \| \d+ \|$", report, flags=re.M)
    for section in ("report.strengths", "report.improvements", "report.per_question"):
        assert f"### {t(section)}" in report
    assert "#### 1. " in report and f"**{t('report.your_answer')}**" in report


def test_english_labels_and_no_report_section_before_the_end():
    session = InterviewSession(owner="alice", target_position="Data Analyst", field="数据分析", level="junior",
                               language="en", interview_stage="self_intro",
                               created_at=datetime(2026, 11, 26, 12, 20, 24, 123456, tzinfo=UTC))
    welcome = MessagePublic(id=1, role="assistant", content="Welcome!", stage="welcome", kind="welcome",
                            status="complete", created_at=datetime(2026, 11, 26, 12, 20, 24, tzinfo=UTC))
    cut = MessagePublic(id=2, role="assistant", content="Half a rep", stage="self_intro", kind="question",
                        status="incomplete", created_at=datetime(2026, 11, 26, 12, 21, 0, tzinfo=UTC))
    history = sessions.SessionHistory(session=session, messages=[welcome, cut])

    text = transcript_markdown(history, None, "en")
    assert text.startswith("# Interview transcript · Data Analyst\n")
    assert "- Started (UTC): 2026-11-26T12:20:24Z" in text  # the old format wrote an invalid "+00:00Z"
    assert f"**Interviewer** _({t('chat.interrupted', 'en')})_ · 2026-11-26T12:21:00Z" in text
    assert t("report.title", "en") not in text

    data = transcript_json(history, None)
    assert data["report"] is None and data["session"]["created_at"] == "2026-11-26T12:20:24Z"
    assert [m["status"] for m in data["messages"]] == ["complete", "incomplete"]


def test_markdown_report_names_each_point_with_the_candidates_words_and_the_correction(finished):
    def render(history, report):
        item = {**report.per_question[0], "covered": [{"point": "组件化", "evidence": ["负责过组件库"]}],
                "unclear": ["性能优化"], "missed": ["工程化"],
                "misconception": {"claim": "c", "evidence": "负责过组件库", "correction": "组件库不等于组件化设计。"}}
        report.per_question = [item]
        return transcript_markdown(history, report, "zh-CN")

    text = finished(render).split(f"### {t('report.per_question')}")[1]
    assert f"**{t('report.covered')}**\n\n- 组件化: “负责过组件库”\n" in text
    assert f"**{t('report.unclear')}**\n\n- 性能优化\n" in text and f"**{t('report.missed')}**\n\n- 工程化\n" in text
    assert f"- {t('report.correction')}: 组件库不等于组件化设计。" in text
