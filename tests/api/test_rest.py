"""REST endpoints in process (TestClient): auth, session CRUD on both databases, limits, errors, stats."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from core.display import field_remix_icon
from core.models import ReportQuestion
from tests.api.helpers import login, start

CHAT = "/api/v1/chat"


# --- auth -------------------------------------------------------------------------------------------------

def test_token_endpoint_issues_a_bearer_token(client):
    response = client.post("/api/v1/auth/token", data={"username": "candidate", "password": "candidate123"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["access_token"].count(".") == 2
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"username": "candidate", "name": "李小明", "roles": ["candidate"]}


def test_bad_credentials_are_401_and_repeated_failures_429(client):
    for _ in range(5):
        response = client.post("/api/v1/auth/token", data={"username": "candidate", "password": "wrong"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    throttled = client.post("/api/v1/auth/token", data={"username": "candidate", "password": "candidate123"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "too many" in throttled.json()["detail"]


@pytest.mark.parametrize("route", [("GET", f"{CHAT}/sessions"), ("POST", f"{CHAT}/start"),
                                   ("GET", f"{CHAT}/history/x"), ("DELETE", f"{CHAT}/sessions/x"),
                                   ("GET", "/api/v1/auth/me"), ("GET", "/api/v1/stats/sessions")])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic Y2FuZGlkYXRlOmNhbmRpZGF0ZTEyMw=="])
def test_every_endpoint_needs_a_valid_bearer_token(client, route, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.request(*route, headers=headers, json={"target_position": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_an_expired_token_is_401(client, monkeypatch):
    import jwt

    from core.auth import JWT_ALGORITHM, JWT_ISSUER
    from tests.api.helpers import SECRET

    expired = jwt.encode({"sub": "candidate", "iat": 1, "exp": 2, "iss": JWT_ISSUER}, SECRET, algorithm=JWT_ALGORITHM)
    response = client.get(f"{CHAT}/sessions", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401


def test_health_needs_no_token(client):
    assert client.get("/api/v1/health").json() == {"status": "ok", "database": "ok", "interviewer": "offline"}


# --- sessions CRUD (SQLite and PostgreSQL) ----------------------------------------------------------------

def test_start_list_history_delete(any_db_client):
    client = any_db_client
    headers = login(client)
    started = start(client, headers, job_description="负责 React 组件库")
    assert set(started) >= {"session_id", "message", "is_complete", "interview_stage", "message_id", "created_at"}
    assert started["message"] and started["is_complete"] is False
    assert started["created_at"].endswith("Z")
    sid = started["session_id"]

    listed = client.get(f"{CHAT}/sessions", headers=headers).json()["sessions"]
    assert [s["session_id"] for s in listed] == [sid]
    item = listed[0]
    assert item["target_position"] == "React前端开发工程师" and item["field"] == "前端开发"
    assert item["icon"] == "ri-code-line" and item["status"] == "started" and item["message_count"] == 1
    assert {"created_at", "last_activity", "interview_stage", "is_complete", "title", "duration_minutes"} <= set(item)

    history = client.get(f"{CHAT}/history/{sid}", headers=headers).json()
    assert history["session_id"] == sid and history["target_position"] == "React前端开发工程师"
    times = [item["created_at"], item["last_activity"], history["created_at"], history["messages"][0]["created_at"]]
    assert all(t.endswith("Z") and datetime.fromisoformat(t).utcoffset().total_seconds() == 0 for t in times)
    assert [m["role"] for m in history["messages"]] == ["assistant"]
    assert history["messages"][0]["content"] == started["message"]
    assert set(history["messages"][0]) >= {"id", "role", "content", "created_at", "status", "stage"}

    answer = {"content": "我叫张三，三年 React 经验，做过组件库和性能优化。", "client_message_id": "c-1"}
    turn = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json=answer)
    assert turn.status_code == 200, turn.text
    assert turn.json()["user_message"]["client_message_id"] == "c-1"
    assert turn.json()["message"]["role"] == "assistant" and turn.json()["replayed"] is False
    assert client.get(f"{CHAT}/history/{sid}", headers=headers).json()["message_count"] == 3

    deleted = client.delete(f"{CHAT}/sessions/{sid}", headers=headers)
    assert deleted.status_code == 200 and deleted.json() == {"session_id": sid, "deleted": True}
    assert client.get(f"{CHAT}/history/{sid}", headers=headers).status_code == 404
    assert client.delete(f"{CHAT}/sessions/{sid}", headers=headers).status_code == 404
    assert client.get(f"{CHAT}/sessions", headers=headers).json() == {"sessions": []}


def test_start_takes_the_name_field_and_the_servers_default_language(client, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    reset_settings()
    headers = login(client)
    english = start(client, headers, target_position="Data Analyst", field="数据分析", name="Alice")
    assert "Alice" in english["message"] and "Data Analyst" in english["message"]
    assert client.get(f"{CHAT}/history/{english['session_id']}", headers=headers).json()["language"] == "en"
    chinese = start(client, headers, language="zh-CN", name=None)
    assert client.get(f"{CHAT}/history/{chinese['session_id']}", headers=headers).json()["language"] == "zh-CN"
    assert "面试" in chinese["message"] and "interview" not in chinese["message"].lower()


def test_sessions_are_listed_newest_activity_first(any_db_client):
    client = any_db_client
    headers = login(client)
    first = start(client, headers, target_position="数据分析师", field="数据分析")["session_id"]
    second = start(client, headers, target_position="Java后端工程师", field="后端开发")["session_id"]
    client.post(f"{CHAT}/sessions/{first}/messages", headers=headers, json={"content": "你好，我是李四。"})
    listed = client.get(f"{CHAT}/sessions", headers=headers).json()["sessions"]
    assert [s["session_id"] for s in listed] == [first, second]
    icons = {s["session_id"]: s["icon"] for s in listed}
    assert icons[first] == field_remix_icon("数据分析", "数据分析师")
    assert icons[second] == field_remix_icon("后端开发", "Java后端工程师")


def test_idempotent_rest_turn_returns_the_stored_reply(client):
    headers = login(client)
    sid = start(client, headers)["session_id"]
    body = {"content": "我有三年前端经验。", "client_message_id": str(uuid.uuid4())}
    first = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json=body).json()
    again = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json=body).json()
    assert again["replayed"] is True and again["message"]["id"] == first["message"]["id"]
    messages = client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant"]


def test_end_then_report(client):
    headers = login(client)
    sid = start(client, headers)["session_id"]
    missing = client.get(f"{CHAT}/sessions/{sid}/report", headers=headers)
    assert missing.status_code == 404 and "not complete" in missing.json()["detail"]
    not_ready = client.post(f"{CHAT}/sessions/{sid}/report", headers=headers)
    assert not_ready.status_code == 409 and not_ready.json()["code"] == "report_not_ready"

    answer = {"content": "我叫张三，三年 React 经验，做过组件库和首屏性能优化。"}
    assert client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json=answer).status_code == 200
    ended = client.post(f"{CHAT}/sessions/{sid}/end", headers=headers)
    assert ended.status_code == 200, ended.text
    assert ended.json()["is_complete"] is True and ended.json()["message"]["role"] == "assistant"
    again = client.post(f"{CHAT}/sessions/{sid}/end", headers=headers)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["message"]["id"] == ended.json()["message"]["id"]
    after = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "还有问题吗？"})
    assert after.status_code == 409 and after.json()["code"] == "completed" and after.json()["retryable"] is False

    report = client.get(f"{CHAT}/sessions/{sid}/report", headers=headers)
    if report.status_code == 404:  # written on demand when the interview ended without one
        report = client.post(f"{CHAT}/sessions/{sid}/report", headers=headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["session_id"] == sid and 0 <= body["overall"] <= 100 and isinstance(body["dimensions"], dict)
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert body["per_question"] and all(set(q) == set(ReportQuestion.model_fields) for q in body["per_question"])
    regenerated = client.post(f"{CHAT}/sessions/{sid}/report?regenerate=true", headers=headers)
    assert regenerated.status_code == 200 and regenerated.json()["session_id"] == sid


# --- validation and limits --------------------------------------------------------------------------------

def test_start_input_is_validated_with_readable_details(client):
    headers = login(client)
    for body in ({}, {"target_position": ""}, {"target_position": "x" * 101}, {"target_position": "   "},
                 {"target_position": "前端", "level": "guru"}, {"target_position": "前端", "language": "fr"}):
        response = client.post(f"{CHAT}/start", headers=headers, json=body)
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert client.get(f"{CHAT}/sessions", headers=headers).json() == {"sessions": []}


def test_message_size_cap_is_422_with_a_clear_detail(client):
    headers = login(client)
    sid = start(client, headers)["session_id"]
    too_long = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "字" * 4001})
    assert too_long.status_code == 422
    assert "4000" in too_long.json()["detail"] and "content" in too_long.json()["detail"]
    blank = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "   "})
    assert blank.status_code == 422 and "empty" in blank.json()["detail"]
    longest = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "字" * 4000})
    assert longest.status_code == 200


def test_request_body_cap_is_413(client):
    headers = login(client) | {"Content-Type": "application/json"}
    from api.middleware import MAX_BODY_BYTES

    payload = json.dumps({"target_position": "前端", "job_description": "x" * (MAX_BODY_BYTES + 1000)})
    response = client.post(f"{CHAT}/start", headers=headers, content=payload)
    assert response.status_code == 413 and "too large" in response.json()["detail"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    chunked = client.post(f"{CHAT}/start", headers=headers, content=chunks())
    assert chunked.status_code == 413


def test_session_limit_is_409(client, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("MAX_SESSIONS_PER_USER", "2")
    reset_settings()
    headers = login(client)
    start(client, headers)
    start(client, headers)
    third = client.post(f"{CHAT}/start", headers=headers, json={"target_position": "前端"})
    assert third.status_code == 409 and third.json()["code"] == "session_limit"
    assert "2" in third.json()["detail"]


def test_turn_rate_limit_is_429_with_retry_after(client, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("TURN_RATE_LIMIT", "2/minute")
    reset_settings()
    headers = login(client)
    sid = start(client, headers)["session_id"]
    for i in range(2):
        ok = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": f"回答 {i} 很详细"})
        assert ok.status_code == 200
    limited = client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "第三条"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["code"] == "rate_limited" and limited.json()["retryable"] is True
    other = login(client, "staff")  # the limit is per user
    other_sid = start(client, other)["session_id"]
    other_turn = client.post(f"{CHAT}/sessions/{other_sid}/messages", headers=other, json={"content": "你好"})
    assert other_turn.status_code == 200


def test_websocket_and_rest_turns_share_the_users_limit(client, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("TURN_RATE_LIMIT", "1/minute")
    reset_settings()
    headers = login(client)
    token = headers["Authorization"].split()[1]
    sid = start(client, headers)["session_id"]
    assert client.post(f"{CHAT}/sessions/{sid}/messages", headers=headers, json={"content": "你好"}).status_code == 200
    with client.websocket_connect(f"{CHAT}/ws/{sid}?token={token}") as ws:
        assert ws.receive_json()["type"] == "state"
        ws.send_json({"type": "message", "content": "第二条回答", "client_message_id": "ws-1"})
        refused = ws.receive_json()
    assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["retryable"] is True
    assert refused["client_message_id"] == "ws-1" and 1 <= refused["retry_after"] <= 60
    roles = [m["role"] for m in client.get(f"{CHAT}/history/{sid}", headers=headers).json()["messages"]]
    assert roles == ["assistant", "user", "assistant"]  # the refused answer was not stored


def test_unexpected_errors_are_500_without_a_trace(app_env, monkeypatch):
    from api import app
    from core import sessions

    def explode(**_kwargs):
        raise RuntimeError("secret internals: /etc/passwd line 42")

    monkeypatch.setattr(sessions, "list_session_summaries", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"{CHAT}/sessions", headers=login(client))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "secret" not in response.text and "Traceback" not in response.text


def test_cors_allows_configured_origins_only(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = client.options(f"{CHAT}/start", headers={"Origin": "http://localhost:8501"} | preflight)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:8501"
    bad = client.options(f"{CHAT}/start", headers={"Origin": "http://evil.example"} | preflight)
    assert "access-control-allow-origin" not in bad.headers


# --- statistics export ------------------------------------------------------------------------------------

def test_stats_export_roles_and_formats(client):
    candidate, staff, analyst = login(client), login(client, "staff"), login(client, "analyst")
    start(client, candidate)
    assert client.get("/api/v1/stats/sessions").status_code == 401
    assert client.get("/api/v1/stats/sessions", headers=candidate).status_code == 403
    csv = client.get("/api/v1/stats/sessions?format=csv", headers=staff)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert "React前端开发工程师" in csv.content.decode("utf-8-sig")
    as_json = client.get("/api/v1/stats/sessions?format=json&field=前端开发&completed=false", headers=analyst)
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
    xlsx = client.get("/api/v1/stats/sessions?format=xlsx&date_from=2020-01-01", headers=analyst)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    unknown = client.get("/api/v1/stats/sessions?format=pdf", headers=staff)
    assert unknown.status_code == 422 and "format" in unknown.json()["detail"]
    assert client.get("/api/v1/stats/sessions?format=pdf", headers=candidate).status_code == 403


def test_stats_names_only_for_staff_when_enabled(client, monkeypatch):
    from core.config import reset_settings

    candidate = login(client)
    start(client, candidate, name="王五")
    staff, analyst = login(client, "staff"), login(client, "analyst")
    assert "王五" not in client.get("/api/v1/stats/sessions", headers=staff).content.decode("utf-8-sig")
    monkeypatch.setenv("STATS_INCLUDE_NAMES", "true")
    reset_settings()
    assert "王五" in client.get("/api/v1/stats/sessions", headers=staff).content.decode("utf-8-sig")
    assert "王五" not in client.get("/api/v1/stats/sessions", headers=analyst).content.decode("utf-8-sig")


def test_stats_dates_follow_the_requested_time_zone(client):
    from sqlalchemy import update

    from core.db import get_engine
    from core.models import InterviewSession

    candidate, staff = login(client), login(client, "staff")
    start(client, candidate)
    late_evening_utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 on 24 Nov in Shanghai
    with get_engine().begin() as conn:
        conn.execute(update(InterviewSession).values(created_at=late_evening_utc, last_activity=late_evening_utc))

    def rows(query: str) -> list[dict]:
        response = client.get(f"/api/v1/stats/sessions?format=json&{query}", headers=staff)
        assert response.status_code == 200, response.text
        return json.loads(response.content)

    assert len(rows("date_from=2026-11-24&date_to=2026-11-24")) == 1  # default zone: Asia/Shanghai
    assert rows("date_from=2026-11-24&tz=UTC") == []
    assert rows("date_to=2026-11-23&tz=UTC")[0]["created_date_local"] == "2026-11-23"
    bad = client.get("/api/v1/stats/sessions?tz=Mars/Olympus", headers=staff)
    assert bad.status_code == 422 and "time zone" in bad.json()["detail"]
