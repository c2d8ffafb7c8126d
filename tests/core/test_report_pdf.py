"""The printable report: a real PDF whose text (read back with pypdf) holds Chinese labels and the candidate's words."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from core import demo, report_pdf
from core.config import get_settings
from core.db import session_scope
from core.interviewer import turns
from core.models import Report
from core.sessions import SessionNotFound

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def played(engine, *, owner: str = "alice", language: str = "zh-CN", outcome: str = "complete") -> str:
    """An interview played through the real service and offline interviewer; its session id."""
    info = {"candidate_name": "李小明" if language == "zh-CN" else "Alex", "level": "mid", "language": language,
            "target_position": "Java后端开发工程师" if language == "zh-CN" else "Backend engineer", "field": "后端开发"}
    scenario = demo.Scenario(owner=owner, info=info, skill=0.55, outcome=outcome, stop_after=2,
                             start=NOW - timedelta(days=1))
    settings = get_settings().model_copy(update={"INTERVIEWER_MODEL": ""})
    return demo.play(scenario, engine=engine, settings=settings, rng=random.Random(11), now=NOW)


def pdf_text(data: bytes) -> str:
    """The PDF's text with all white space removed (wrapping puts line breaks anywhere in Chinese)."""
    assert data.startswith(b"%PDF-")
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def zh_report(sqlite_engine):
    session_id = played(sqlite_engine)
    with session_scope(sqlite_engine) as db:
        report = db.get(Report, session_id)
        db.expunge(report)
    return sqlite_engine, session_id, report


def test_the_pdf_holds_the_chinese_report_and_the_candidate_s_own_words(zh_report):
    engine, session_id, report = zh_report
    data = report_pdf.report_pdf(owner="alice", session_id=session_id, engine=engine)
    fonts = {font.get_object()["/BaseFont"]: font.get_object() for page in PdfReader(io.BytesIO(data)).pages
             for font in page["/Resources"]["/Font"].get_object().values()}
    assert fonts["/STSong-Light"]["/Encoding"] == "/UniGB-UCS2-H"  # reportlab's built-in CJK font: no font file
    text = pdf_text(data)
    labels = ("面试报告", "综合得分", "专业知识", "岗位匹配", "逐题反馈", "你的回答", "改进建议", "Java后端开发工程师")
    for label in labels:
        assert label in text, label
    assert f"{report.overall}/100" in text
    quotes = [q for e in report.per_question for p in e["covered"] for q in p["evidence"]]
    assert quotes, "a mid-level candidate covers some points"
    assert all(squash(q) in text for q in quotes)  # every quote of the candidate's words is printed
    assert squash(report.per_question[0]["question"]) in text
    assert all(squash(m) in text for e in report.per_question for m in e["missed"])
    assert squash(report.improvements[0]) in text


def test_english_labels_with_the_interview_s_own_content(zh_report):
    engine, session_id, report = zh_report
    text = pdf_text(report_pdf.report_pdf(owner="alice", session_id=session_id, engine=engine, lang="en"))
    assert "Interviewreport" in text and "Questionbyquestion" in text and "Expertise" in text
    assert squash(report.per_question[0]["question"]) in text  # Chinese content still printed, in the CJK font


def test_an_english_interview_prints_in_english(sqlite_engine):
    session_id = played(sqlite_engine, language="en")
    text = pdf_text(report_pdf.report_pdf(owner="alice", session_id=session_id, engine=sqlite_engine))
    assert "Overallscore" in text and "Youranswer" in text and "综合得分" not in text


def test_only_the_owner_gets_the_pdf_and_only_once_there_is_a_report(sqlite_engine):
    finished = played(sqlite_engine)
    with pytest.raises(SessionNotFound):
        report_pdf.report_pdf(owner="mallory", session_id=finished, engine=sqlite_engine)
    unfinished = played(sqlite_engine, outcome="abandon")
    assert turns.get_report(owner="alice", session_id=unfinished, engine=sqlite_engine) is None
    with pytest.raises(report_pdf.ReportNotWritten):
        report_pdf.report_pdf(owner="alice", session_id=unfinished, engine=sqlite_engine)


def test_a_very_long_answer_flows_over_pages_instead_of_failing(zh_report):
    engine, session_id, report = zh_report
    entries = [dict(e) for e in report.per_question]
    entries[0]["answer"] = ("我负责的是订单系统的重构，把单体拆成了三个服务。" * 300)[:4000]
    entries[0]["misconception"] = {"claim": "前端校验足够", "evidence": "前端校验一下参数就行了",
                                   "correction": "前端校验可以被绕过，服务端必须用参数化查询。"}
    with session_scope(engine) as db:
        stored = db.get(Report, session_id)
        stored.per_question = entries
        db.add(stored)
        db.commit()
    data = report_pdf.report_pdf(owner="alice", session_id=session_id, engine=engine)
    assert len(PdfReader(io.BytesIO(data)).pages) >= 3
    text = pdf_text(data)
    assert "服务端必须用参数化查询" in text and "需要纠正的说法" in text
