"""Two users: B gets exactly what a random id gets (404 / the same WebSocket close) for every route of A's session."""

from __future__ import annotations

import asyncio
import uuid

from tests.api.helpers import close_code, login, recv_json, start, ws_connect

CHAT = "/api/v1/chat"
ROUTES = [
    ("GET", CHAT + "/history/{sid}", None),
    ("POST", CHAT + "/sessions/{sid}/messages", {"content": "我来偷看一下", "client_message_id": "b-1"}),
    ("POST", CHAT + "/sessions/{sid}/end", None),
    ("GET", CHAT + "/sessions/{sid}/report", None),
    ("POST", CHAT + "/sessions/{sid}/report", None),
    ("POST", CHAT + "/sessions/{sid}/report?regenerate=true", None),
    ("DELETE", CHAT + "/sessions/{sid}", None),
]


def test_another_users_session_is_indistinguishable_from_a_missing_one(client):
    alice, bob = login(client, "candidate"), login(client, "staff")
    sid = start(client, alice)["session_id"]
    client.post(f"{CHAT}/sessions/{sid}/messages", headers=alice, json={"content": "我是爱丽丝，做前端三年。"})
    before = client.get(f"{CHAT}/history/{sid}", headers=alice).json()

    for method, template, body in ROUTES:
        foreign = client.request(method, template.format(sid=sid), headers=bob, json=body)
        missing = client.request(method, template.format(sid=uuid.uuid4()), headers=bob, json=body)
        assert foreign.status_code == 404, (method, template, foreign.text)
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()), (method, template)
        assert foreign.headers.get("content-type") == missing.headers.get("content-type")

    assert client.get(f"{CHAT}/sessions", headers=bob).json() == {"sessions": []}
    assert [s["session_id"] for s in client.get(f"{CHAT}/sessions", headers=alice).json()["sessions"]] == [sid]
    assert client.get(f"{CHAT}/history/{sid}", headers=alice).json() == before  # nothing changed


def test_another_users_session_is_refused_on_the_websocket(live_server):
    sid = live_server.start_session("candidate")
    bob = live_server.token("staff")

    async def closed_with(session_id: str):
        async with await ws_connect(live_server, session_id, token=bob) as ws:
            return await close_code(ws)

    async def owner_gets_state():
        async with await ws_connect(live_server, sid, token=live_server.token("candidate")) as ws:
            return (await recv_json(ws))["type"]

    foreign = asyncio.run(closed_with(sid))
    missing = asyncio.run(closed_with(str(uuid.uuid4())))
    assert foreign == missing == (4404, "session not found")
    assert asyncio.run(owner_gets_state()) == "state"
