"""The data-only shapes every client exchanges: create input, times that leave in UTC, the typed report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from core import sessions
from core.models import MessagePublic, Report, ReportPublic

SHANGHAI = timezone(timedelta(hours=8))


def test_create_shape_takes_the_apis_name_field_and_the_deployments_language(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    reset_settings()
    info = sessions.validate_create({"target_position": " Data Analyst ", "name": "Alice"})
    assert (info.candidate_name, info.target_position, info.language) == ("Alice", "Data Analyst", "en")
    core_caller = sessions.validate_create({"target_position": "x", "candidate_name": "Bob", "language": None})
    assert (core_caller.candidate_name, core_caller.language) == ("Bob", "en")
    assert sessions.validate_create({"target_position": "x", "language": "zh-CN"}).language == "zh-CN"
    assert sessions.validate_create({"target_position": "x", "name": None}).candidate_name == ""
    with pytest.raises(sessions.InvalidInput, match="field"):
        sessions.validate_create({"target_position": "x", "field": None})


def _message(created_at: datetime) -> MessagePublic:
    return MessagePublic(id=1, role="assistant", content="你好", created_at=created_at, status="complete",
                         stage="welcome", kind="welcome")


def test_times_leave_in_utc_with_an_explicit_offset():
    local = datetime(2026, 11, 26, 20, 20, 24, tzinfo=SHANGHAI)
    message = _message(local)
    assert message.created_at == local and message.created_at.tzinfo is UTC
    assert message.model_dump(mode="json")["created_at"] == "2026-11-26T12:20:24Z"
    with pytest.raises(ValidationError, match="timezone"):
        _message(datetime(2026, 11, 26, 12, 20, 24))  # a naive time is a bug upstream, never guessed at


def test_report_public_types_every_question():
    now = datetime.now(UTC)
    question = {"question_id": "q1", "stage": "technical", "question": "什么是闭包？", "answer": "函数记住了外层变量……",
                "score": 3.5, "evidence": ["记住了外层变量"], "unclear": ["作用域链"], "missed": ["内存泄漏"],
                "covered": [{"point": "定义", "evidence": ["记住了外层变量"]}], "feedback": "…", "better_answer": "…",
                "misconception": {"claim": "闭包会复制变量", "correction": "闭包引用变量本身",
                                  "evidence": "闭包复制了变量"}}
    older = {"question_id": "q0", "stage": "self_intro", "question": "介绍一下自己", "answer": "我……", "score": 3.0,
             "evidence": [], "missed": "项目经历", "feedback": "…", "better_answer": "…"}  # before key points
    row = Report(session_id="s-1", overall=72, dimensions={"knowledge": 70, "fit": 74}, strengths=["清晰"],
                 improvements=["多举例"], summary="不错", created_at=now, updated_at=now,
                 per_question=[older, question])
    report = ReportPublic.model_validate(row)
    old, new = report.per_question
    assert (old.missed, old.covered, old.unclear, old.misconception) == (["项目经历"], [], [], None)
    assert new.covered[0].point == "定义" and new.covered[0].evidence == ["记住了外层变量"]
    assert new.misconception.correction == "闭包引用变量本身" and new.score == 3.5
    assert report.dimensions == {"knowledge": 70, "fit": 74} and report.created_at == now
