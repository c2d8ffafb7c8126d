"""Capacity of one API worker (`uvicorn api:app`, one process) on PostgreSQL, for docs/DEPLOY.md.

    python bench/bench_capacity.py [--clients 1,4,16] [--seconds 20] [--sockets 2000] [--sessions 500]

(a) Offline turns per second: N clients each run interviews over WebSockets back to back (6 answers per interview,
    then a new one) for --seconds; prints turns/s, turn p50/p99 and the worker's CPU (1.00 = one core busy).
(b) Open WebSockets: --sockets idle sockets over --sessions sessions on the worker; prints its memory per socket,
    the time of one turn with them open next to one turn without (same run), and the worker's CPU while idle.
The worker is the only process measured; PostgreSQL and this client share the same machine, so on a loaded 2-core
box the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from tests.api.helpers import LiveServer, recv_json, scratch_schema, server_env, ws_connect  # noqa: E402

ANSWERS = ["我做过三年后端开发，主要用 Go 和 PostgreSQL，负责订单系统的接口和数据库设计。",
           "索引用 B+ 树，范围查询快；联合索引要注意最左前缀，不然用不上。",
           "上次线上慢查询是缺索引，我用 EXPLAIN 找到全表扫描，加了联合索引后从两秒降到二十毫秒。",
           "缓存我们用 Redis，先更新数据库再删缓存，热点 key 加了互斥锁防止击穿。",
           "和产品意见不一致时，我会拿数据说话，先小流量试验，再决定要不要全量。",
           "我想了解一下团队现在的技术栈和新人的培养方式。"]
TURNS_PER_INTERVIEW = 6


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process on this machine, by pid (other users included)."""
    seconds = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1] in ("postgres", "postmaster"):
            fields = rest.split()
            seconds[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes used since `before` (backends that ended meanwhile are not counted)."""
    return sum(used - before.get(pid, 0.0) for pid, used in postgres_cpu().items())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def start_session(http: httpx.AsyncClient, headers: dict) -> str:
    response = await http.post("/api/v1/chat/start", headers=headers,
                               json={"target_position": "后端开发工程师", "field": "后端开发"})
    response.raise_for_status()
    return response.json()["session_id"]


async def one_turn(ws, answer: str) -> float:
    await ws.send(json.dumps({"type": "message", "content": answer, "client_message_id": str(uuid.uuid4())}))
    started = time.perf_counter()
    while True:
        frame = await recv_json(ws, 60)
        if frame["type"] == "message":
            return time.perf_counter() - started
        if frame["type"] == "error":
            raise RuntimeError(frame)


async def turn_load(server: LiveServer, clients: int, seconds: float) -> tuple[int, list[float], dict[str, float]]:
    headers = server.headers()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            sid = await start_session(http, headers)
            ws = await ws_connect(server, sid, token=server.token())
            try:
                await recv_json(ws)  # state
                for answer in ANSWERS[:TURNS_PER_INTERVIEW]:
                    if time.monotonic() >= deadline:
                        break
                    latencies.append(await one_turn(ws, answer))
            finally:
                await ws.close()

    pid = server.process.pid
    worker0, pg0, own0, t0 = cpu_seconds(pid), postgres_cpu(), time.process_time(), time.monotonic()
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.monotonic() - t0
    cores = {"worker": cpu_seconds(pid) - worker0, "postgres": postgres_cpu_since(pg0),
             "clients": time.process_time() - own0}
    return len(latencies), latencies, {name: used / elapsed for name, used in cores.items()}


async def open_sockets(server: LiveServer, sockets: int, sessions: int) -> None:
    pid = server.process.pid
    headers = server.headers()
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=60) as http:
        sids = []
        for _ in range(sessions):
            sids.append(await start_session(http, headers))
        probe_sid, warm_sid = await start_session(http, headers), await start_session(http, headers)
    warm = await ws_connect(server, warm_sid, token=server.token())
    await recv_json(warm)
    for answer in ANSWERS[:3]:  # first turns of a process pay lazy loading
        await one_turn(warm, answer)
    await warm.close()
    probe = await ws_connect(server, probe_sid, token=server.token())
    await recv_json(probe)
    alone = [await one_turn(probe, answer) for answer in ANSWERS[:3]]
    await asyncio.sleep(2)
    rss_before = rss_mb(pid)
    held = []
    token = server.token()
    for i in range(sockets):
        ws = await ws_connect(server, sids[i % len(sids)], token=token)
        await recv_json(ws)
        held.append(ws)
    await asyncio.sleep(5)  # the watcher runs a few rounds over every session
    rss_after = rss_mb(pid)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(10)
    idle_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    crowded = [await one_turn(probe, answer) for answer in ANSWERS[3:6]]
    print(f"(b) {sockets} idle WebSockets over {sessions} sessions on one worker:")
    print(f"    worker RSS {rss_before:.0f} MB -> {rss_after:.0f} MB: "
          f"{(rss_after - rss_before) * 1024 / sockets:.1f} KB per socket")
    print(f"    worker CPU while they idle: {idle_cpu:.3f} cores")
    print(f"    one turn: median {statistics.median(alone) * 1000:.0f} ms with no other socket, "
          f"{statistics.median(crowded) * 1000:.0f} ms with them open "
          f"(ratio {statistics.median(crowded) / statistics.median(alone):.2f})")
    for ws in held:
        await ws.close()
    await probe.close()


def with_server(database_url: str, fn) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    server = None
    try:
        with scratch_schema(admin, database_url, "bench") as url, tempfile.TemporaryDirectory() as tmp:
            env = server_env(Path(tmp), None, DATABASE_URL=url, TURN_RATE_LIMIT="1000000/minute",
                             MAX_SESSIONS_PER_USER="1000000")
            try:
                server = LiveServer(Path(tmp), env).start()
                asyncio.run(fn(server))
            finally:
                if server is not None:
                    server.stop()
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sockets", type=int, default=2000, help="0: skip (b)")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    async def turns(server: LiveServer) -> None:
        print(f"(a) offline turns on one worker, {args.seconds:.0f} s per row:")
        for clients in (int(c) for c in args.clients.split(",")):
            count, latencies, cpu = await turn_load(server, clients, args.seconds)
            ordered = sorted(latencies)
            p50, p99 = statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]
            print(f"    {clients:3d} clients: {count / args.seconds:6.1f} turns/s  p50 {p50 * 1000:6.0f} ms  "
                  f"p99 {p99 * 1000:6.0f} ms  CPU (cores): worker {cpu['worker']:.2f}, PostgreSQL "
                  f"{cpu['postgres']:.2f}, bench clients {cpu['clients']:.2f}; worker CPU per turn "
                  f"{cpu['worker'] * args.seconds / max(count, 1) * 1000:.1f} ms")

    async def sockets(server: LiveServer) -> None:
        await open_sockets(server, args.sockets, args.sessions)

    if args.clients:
        with_server(args.database, turns)
    if args.sockets:
        with_server(args.database, sockets)


if __name__ == "__main__":
    main()
