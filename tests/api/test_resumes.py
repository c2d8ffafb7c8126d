"""/api/v1/resumes over a real uvicorn server: upload (multipart) and what was understood, corrections, owner-only
reads and deletes (404 for anyone else), bad files refused with a clear message and the worker still serving,
interviews started from a resume, and the resume going to a model only when one is configured."""

from __future__ import annotations

import pytest

from tests import resume_samples as rs
from tests.api.helpers import LiveServer, server_env

URL = "/api/v1/resumes"


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory):
    """uvicorn with no model configured: the built-in interviewer, resumes understood by rules."""
    tmp = tmp_path_factory.mktemp("resumes")
    server = LiveServer(tmp, server_env(tmp, None)).start()
    yield server
    server.stop()


def _upload(server: LiveServer, data: bytes, filename: str = "resume.pdf", user: str = "candidate",
            mime: str = "application/octet-stream"):
    with server.http() as http:
        return http.post(URL, headers=server.headers(user), files={"file": (filename, data, mime)})


def test_upload_returns_the_id_and_what_was_understood(offline_server):
    response = _upload(offline_server, rs.pdf(rs.ZH_LINES), "张三-简历.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] and body["kind"] == "pdf" and body["filename"] == "张三-简历.pdf" and body["source"] == "rules"
    flash = body["parsed"]["projects"][0]
    assert (flash["name"], flash["role"]) == ("秒杀系统", "后端负责人")
    assert "QPS 提升 3 倍" in flash["numbers"] and "Redis" in flash["stack"]
    assert {"education", "experience", "projects", "skills"} <= set(body["parsed"]["sections"])
    with offline_server.http() as http:
        again = http.get(f"{URL}/{body['id']}", headers=offline_server.headers())
        listed = http.get(URL, headers=offline_server.headers())
    assert again.json()["parsed"] == body["parsed"]
    assert body["id"] in [r["id"] for r in listed.json()]


def test_a_docx_named_txt_is_read_as_a_docx(offline_server):
    response = _upload(offline_server, rs.docx(rs.EN_LINES, headings={"Projects", "Skills"}), "notes.txt",
                       mime="text/plain")
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "docx"
    assert response.json()["parsed"]["projects"][0]["name"] == "Flash-sale system"


def test_another_user_gets_404_exactly_like_a_missing_resume(offline_server):
    resume_id = _upload(offline_server, rs.pdf(rs.EN_LINES)).json()["id"]
    with offline_server.http() as http:
        theirs = http.get(f"{URL}/{resume_id}", headers=offline_server.headers("staff"))
        missing = http.get(f"{URL}/00000000-0000-0000-0000-000000000000", headers=offline_server.headers("staff"))
        delete = http.delete(f"{URL}/{resume_id}", headers=offline_server.headers("staff"))
        put = http.put(f"{URL}/{resume_id}", headers=offline_server.headers("staff"), json={"parsed": {}})
        listed = http.get(URL, headers=offline_server.headers("staff"))
        start = http.post("/api/v1/chat/start", headers=offline_server.headers("staff"),
                          json={"target_position": "后端开发", "resume_id": resume_id})
        still = http.get(f"{URL}/{resume_id}", headers=offline_server.headers())
    assert theirs.status_code == missing.status_code == delete.status_code == put.status_code == 404
    assert theirs.json() == missing.json()
    assert start.status_code == 404
    assert resume_id not in [r["id"] for r in listed.json()]
    assert still.status_code == 200


@pytest.mark.parametrize(("make", "status", "code"), [
    (rs.scanned_pdf, 422, "resume_scanned"),
    (lambda: rs.pdf(rs.EN_LINES, encrypt="secret"), 422, "resume_encrypted"),
    (rs.broken_pdf, 422, "resume_broken"),
    (rs.docx_bomb, 422, "resume_bomb"),
    (lambda: rs.long_resume_pdf(200), 422, "resume_too_many_pages"),
    (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, 422, "resume_unsupported"),
    (lambda: b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024), 413, "resume_too_large"),
], ids=["scanned", "encrypted", "broken", "zip-bomb", "200-pages", "image", "over-5MB"])
def test_bad_files_get_a_clear_message_and_the_server_keeps_serving(offline_server, make, status, code):
    response = _upload(offline_server, make())
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and " / " in body["detail"]  # Chinese and English, what to do
    with offline_server.http() as http:
        assert http.get("/api/v1/health").status_code == 200


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(offline_server):
    with offline_server.http() as http:
        response = http.post(URL, headers=offline_server.headers(),
                             files={"file": ("big.pdf", b"%PDF-" + b"0" * (7 * 1024 * 1024))})
    assert response.status_code == 413


def test_start_from_a_resume_after_correcting_it(offline_server):
    body = _upload(offline_server, rs.pdf(rs.ZH_LINES)).json()
    parsed = body["parsed"]
    parsed["projects"][0]["name"] = "限时抢购平台"
    with offline_server.http() as http:
        bad = http.put(f"{URL}/{body['id']}", headers=offline_server.headers(),
                       json={"parsed": {"projects": [{"name": ""}]}})
        fixed = http.put(f"{URL}/{body['id']}", headers=offline_server.headers(), json={"parsed": parsed})
        started = http.post("/api/v1/chat/start", headers=offline_server.headers(),
                            json={"target_position": "Java后端开发", "field": "后端开发", "resume_id": body["id"]})
    assert bad.status_code == 422
    assert fixed.status_code == 200 and fixed.json()["source"] == "edited"
    assert started.status_code == 201, started.text
    assert "限时抢购平台" in started.json()["message"]


def test_the_resume_goes_with_its_interview_or_on_request(offline_server):
    first = _upload(offline_server, rs.pdf(rs.ZH_LINES)).json()["id"]
    second = _upload(offline_server, rs.pdf(rs.ZH_LINES)).json()["id"]
    with offline_server.http() as http:
        session_id = http.post("/api/v1/chat/start", headers=offline_server.headers(), json={
            "target_position": "Java后端开发", "resume_id": first}).json()["session_id"]
        assert http.get(f"{URL}/{first}", headers=offline_server.headers()).json()["session_id"] == session_id
        assert http.delete(f"/api/v1/chat/sessions/{session_id}", headers=offline_server.headers()).status_code == 200
        gone_with_session = http.get(f"{URL}/{first}", headers=offline_server.headers())
        deleted = http.delete(f"{URL}/{second}", headers=offline_server.headers())
        gone_on_request = http.get(f"{URL}/{second}", headers=offline_server.headers())
    assert gone_with_session.status_code == 404
    assert deleted.json() == {"resume_id": second, "deleted": True}
    assert gone_on_request.status_code == 404


def test_with_a_model_configured_the_resume_goes_to_it(live_server, llm_server):
    llm_server.reset()
    response = _upload(live_server, rs.pdf(rs.EN_LINES))
    assert response.status_code == 201, response.text
    sent = [r for r in llm_server.requests if "<resume>" in r["messages"][-1]["content"]]
    assert sent and "Flash-sale system" in sent[0]["messages"][-1]["content"]
    # the fake model's reply is not a grounded extraction: the rules' result stands
    assert response.json()["source"] == "rules"
    assert response.json()["parsed"]["projects"][0]["name"] == "Flash-sale system"
