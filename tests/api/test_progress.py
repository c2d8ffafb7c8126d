"""GET /me/progress and GET /chat/{id}/report.pdf over a real uvicorn server (offline interviewer): owner only."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from pypdf import PdfReader

from tests.api.helpers import LiveServer, server_env

# Covers 原子性, 隔离性 and 持久性 of backend-zh-003 and never mentions 一致性.
GOOD_ACID = ("原子性是说一个事务里的操作要么全做完要么全不做，失败了会用 undo log 回滚。"
             "隔离性是并发事务之间互相看不到对方没提交的修改，InnoDB 靠锁和 MVCC 做到。"
             "持久性就是提交之后哪怕机器宕机数据也还在，因为 redo log 已经刷盘了。")
ANSWER = "面试官您好，我叫李小明，在字节跳动实习时负责订单服务，把下单接口的 P99 从 800ms 降到了 120ms。"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """`uvicorn api:app` with the built-in offline interviewer (no model), one per module."""
    tmp = tmp_path_factory.mktemp("progress")
    live = LiveServer(tmp, server_env(tmp, None)).start()
    yield live
    live.stop()


def finished_interview(server: LiveServer, username: str = "candidate") -> str:
    """Start, answer twice, end early: the interview is complete and its report written."""
    session_id = server.start_session(username)
    with server.http() as http:
        for n, text in enumerate((ANSWER, GOOD_ACID)):
            response = http.post(f"/api/v1/chat/sessions/{session_id}/messages", headers=server.headers(username),
                                 json={"content": text, "client_message_id": f"m{n}"})
            assert response.status_code == 200, response.text
        assert http.post(f"/api/v1/chat/sessions/{session_id}/end",
                         headers=server.headers(username)).status_code == 200
        assert http.get(f"/api/v1/chat/sessions/{session_id}/report",
                        headers=server.headers(username)).status_code == 200
    return session_id


def test_the_owner_downloads_a_pdf_with_their_own_words(server):
    session_id = finished_interview(server)
    with server.http() as http:
        response = http.get(f"/api/v1/chat/{session_id}/report.pdf", headers=server.headers())
        same = http.get(f"/api/v1/chat/sessions/{session_id}/report.pdf", headers=server.headers(),
                        params={"lang": "en"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert f"{session_id[:8]}.pdf" in response.headers["content-disposition"]
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    assert "面试报告" in text and "综合得分" in text and "字节跳动实习时负责订单服务" in text
    assert same.status_code == 200 and "Interviewreport" in re.sub(
        r"\s+", "", PdfReader(io.BytesIO(same.content)).pages[0].extract_text())


def test_nobody_else_gets_the_pdf_and_an_unfinished_interview_has_none(server):
    session_id = finished_interview(server)
    with server.http() as http:
        other = http.get(f"/api/v1/chat/{session_id}/report.pdf", headers=server.headers("staff"))
        missing = http.get("/api/v1/chat/00000000-0000-0000-0000-000000000000/report.pdf",
                           headers=server.headers())
        anonymous = http.get(f"/api/v1/chat/{session_id}/report.pdf")
        bad_lang = http.get(f"/api/v1/chat/{session_id}/report.pdf", headers=server.headers(), params={"lang": "fr"})
        unfinished = server.start_session()
        not_yet = http.get(f"/api/v1/chat/{unfinished}/report.pdf", headers=server.headers())
    assert other.status_code == 404 and other.json() == missing.json()  # exactly like a session that does not exist
    assert missing.status_code == 404 and anonymous.status_code == 401 and bad_lang.status_code == 422
    assert not_yet.status_code == 404 and "报告尚未生成" in not_yet.json()["detail"]


def test_progress_shows_scores_and_the_points_missed_in_interviews_and_drills(server):
    session_id = finished_interview(server)
    with server.http() as http:
        drill = http.post("/api/v1/questions/backend-zh-003/evaluate", headers=server.headers(),
                          json={"answer": GOOD_ACID})
        assert drill.status_code == 200 and "一致性" in drill.json()["missed"] + drill.json()["unclear"]
        response = http.get("/api/v1/me/progress", headers=server.headers(), params={"tz": "Asia/Shanghai"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert session_id in [s["session_id"] for s in body["scores"]]
    assert body["interviews_completed"] >= 1 and body["drill_attempts"] >= 1
    assert set(body["scores"][-1]["dimensions"]) == {"knowledge", "communication", "logic", "project", "fit"}
    assert sum(w["drills"] for w in body["weeks"]) >= 1 and len(body["weeks"]) == 12
    consistency = next(p for p in body["weak_points"] if p["point"] == "一致性")
    assert consistency["question_id"] == "backend-zh-003" and consistency["drillable"] is True


def test_progress_is_only_ever_the_signed_in_user_s(server):
    finished_interview(server, "candidate")
    with server.http() as http:
        staff = http.get("/api/v1/me/progress", headers=server.headers("staff")).json()
        analyst = http.get("/api/v1/me/progress", headers=server.headers("analyst"), params={"weeks": 4}).json()
        anonymous = http.get("/api/v1/me/progress")
        bad_zone = http.get("/api/v1/me/progress", headers=server.headers(), params={"tz": "Mars/Olympus"})
        bad_weeks = http.get("/api/v1/me/progress", headers=server.headers(), params={"weeks": 0})
    for body in (staff, analyst):
        assert body["scores"] == [] and body["weak_points"] == [] and body["interviews_completed"] == 0
    assert len(analyst["weeks"]) == 4 and anonymous.status_code == 401
    assert bad_zone.status_code == 422 and "Asia/Shanghai" in bad_zone.json()["detail"]
    assert bad_weeks.status_code == 422
