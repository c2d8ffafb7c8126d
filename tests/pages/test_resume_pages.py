"""The resume under AppTest: the note next to the upload says whether the resume goes to a model, and the report
page shows 简历声明核验 / Resume claims for an interview started from a resume."""

from __future__ import annotations

from core import resume_store
from core.interviewer import turns
from core.interviewer.workflow import current_item
from core.models import InterviewSession
from tests import resume_samples as rs
from tests.pages.helpers import db_scope, login, ok, texts

MEASURED = ("我们用 JMeter 在预发环境压测，改造前后同样 200 并发对比：原来单机 2000 QPS，改造后 6000 左右。"
            "瓶颈在库存行锁上。")


def test_the_upload_note_says_no_model_gets_the_resume(app_env):
    at = login()
    at.switch_page("app_pages/new_interview.py").run()
    shown = texts(ok(at))
    assert "简历（可选）" in shown and "不会发送给任何模型" in shown and "会发送给该模型" not in shown


def test_with_a_model_configured_the_note_says_the_resume_goes_to_it(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("INTERVIEWER_MODEL", "deepseek/deepseek-chat")
    reset_settings()
    at = login()
    at.switch_page("app_pages/new_interview.py").run()
    shown = texts(ok(at))
    assert "简历文字会发送给该模型" in shown and "deepseek/deepseek-chat" in shown
    assert "不会发送给任何模型" not in shown


def _interview_from_resume(language: str) -> str:
    with db_scope() as db:
        resume_id = resume_store.create_resume(db=db, owner="candidate", filename="cv.pdf",
                                               data=rs.pdf(rs.ZH_LINES)).id
    started = turns.start_interview(owner="candidate", info={
        "target_position": "Java后端开发工程师", "field": "后端开发", "language": language, "resume_id": resume_id})
    sid = started.session.id
    for n in range(40):  # answer until the claim question, then answer it and end
        with db_scope() as db:
            session = db.get(InterviewSession, sid)
            item = current_item(session.plan, session.state)
        claim = item is not None and item["id"] == "resume-claim-1"
        for _ in turns.run_turn(owner="candidate", session_id=sid, client_message_id=f"a{n}",
                                content=MEASURED if claim else "我负责下单链路的设计，用缓存和异步削峰。"):
            pass
        if claim:
            break
    turns.end_interview(owner="candidate", session_id=sid)
    return sid


def test_the_report_page_shows_the_resume_claims(app_env):
    _interview_from_resume("zh-CN")
    at = login()
    at.switch_page("app_pages/report.py").run()
    shown = texts(ok(at))
    assert "简历声明核验" in shown
    assert "已核实" in shown and "QPS 提升 3 倍" in shown and "用 JMeter 在预发环境压测" in shown
    assert "未能核实" in shown and "接口 P99 延迟从 800ms 降到 120ms" in shown


def test_the_report_page_in_english_names_the_section_resume_claims(app_env):
    _interview_from_resume("en")
    at = login(lang="en")
    at.switch_page("app_pages/report.py").run()
    shown = texts(ok(at))
    assert "Resume claims" in shown and "Not substantiated" in shown
