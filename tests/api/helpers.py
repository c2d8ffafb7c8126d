"""Helpers for the API tests: login, a real uvicorn server in a subprocess, a WebSocket client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key-0123456789abcdef-0123456789"
PASSWORDS = {"candidate": "candidate123", "staff": "staff123", "analyst": "analyst123"}


def schema_url(base_url: str, schema: str) -> str:
    """`base_url` with its search_path set to `schema` (what a server or engine given it reads and writes)."""
    return f"{base_url}?options=-csearch_path%3D{schema}"


@contextmanager
def scratch_schema(admin, base_url: str, prefix: str = "t") -> Iterator[str]:
    """A brand-new PostgreSQL schema for one test or bench run: yields a DATABASE_URL pointing at it, and drops it
    with everything in it afterwards. `admin` is an AUTOCOMMIT engine on the same database."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(base_url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def login(client, username: str = "candidate") -> dict[str, str]:
    """Authorization headers for a demo account, through the real token endpoint."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def start(client, headers, **info) -> dict:
    body = {"target_position": "React前端开发工程师", "field": "前端开发", "name": "张三"} | info
    response = client.post("/api/v1/chat/start", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- a real server ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`uvicorn api:app` in a subprocess on a loopback port."""

    def __init__(self, workdir: Path, env: dict[str, str], extra_args: tuple[str, ...] = ()):
        self.extra_args = extra_args
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = workdir / "uvicorn.log"
        self.env = env
        self.process: subprocess.Popen | None = None
        self._tokens: dict[str, str] = {}

    def start(self) -> LiveServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning", *self.extra_args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/api/v1/health", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, trust_env=False, timeout=30)

    def token(self, username: str = "candidate") -> str:
        if username not in self._tokens:
            with self.http() as http:
                response = http.post("/api/v1/auth/token",
                                     data={"username": username, "password": PASSWORDS[username]})
            response.raise_for_status()
            self._tokens[username] = response.json()["access_token"]
        return self._tokens[username]

    def headers(self, username: str = "candidate") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def start_session(self, username: str = "candidate") -> str:
        with self.http() as http:
            response = http.post("/api/v1/chat/start", headers=self.headers(username),
                                 json={"target_position": "后端开发工程师", "field": "后端开发"})
        assert response.status_code == 201, response.text
        return response.json()["session_id"]

    def history(self, session_id: str, username: str = "candidate") -> dict:
        with self.http() as http:
            response = http.get(f"/api/v1/chat/history/{session_id}", headers=self.headers(username))
        assert response.status_code == 200, response.text
        return response.json()


def server_env(tmp: Path, llm_base_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp / 'live.db'}", "AUTH_CONFIG": str(tmp / "auth.yaml"),
            "DEMO_MODE": "true", "SECRET_KEY": SECRET, "TURN_RATE_LIMIT": "1000/minute",
            "ALLOWED_ORIGINS": "http://localhost:8501,http://app.example", "PYTHONUNBUFFERED": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
    if llm_base_url:
        env |= {"INTERVIEWER_MODEL": "openai/fake-interviewer", "INTERVIEWER_API_BASE": llm_base_url,
                "INTERVIEWER_API_KEY": "sk-test", "INTERVIEWER_TIMEOUT": "2"}
    return env | extra


# --- a WebSocket client -----------------------------------------------------------------------------------

async def ws_connect(server: LiveServer, session_id: str, *, token: str | None = None, how: str = "query",
                     origin: str | None = None):
    """Open the interview socket authenticated by `how`: query, header or subprotocol."""
    from websockets.asyncio.client import connect

    url = f"{server.ws_url}/api/v1/chat/ws/{session_id}"
    kwargs: dict = {"proxy": None, "open_timeout": 10}
    if origin:
        kwargs["origin"] = origin
    if token and how == "query":
        url += f"?token={token}"
    elif token and how == "header":
        kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
    elif token and how == "subprotocol":
        kwargs["subprotocols"] = ["bearer", token]
    return await connect(url, **kwargs)


async def recv_json(ws, timeout: float = 15) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, kind: str, timeout: float = 20) -> tuple[dict, list[dict]]:
    """Frames up to and including the first of type `kind`: (that frame, the ones before it)."""
    before: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if frame["type"] == kind:
            return frame, before
        before.append(frame)


async def close_code(ws, timeout: float = 10) -> tuple[int | None, str]:
    """Wait for the server to close; its close code and reason."""
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), (closed.rcvd.reason if closed.rcvd else "")
