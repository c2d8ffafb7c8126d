"""API benchmark against a real `uvicorn api:app` (one worker, SQLite file), printing figures (no asserts).

    python bench/bench_api.py [--sessions 1000] [--clients 32] [--requests 3000]
                              [--interviews 200] [--turns 3] [--latency 0.5]

(a) GET /api/v1/chat/sessions for a user with --sessions sessions, --clients concurrent httpx clients:
    requests/s, p50, p99.
(b) --interviews concurrent WebSocket interviews of --turns turns each, the interviewer on a local fake
    OpenAI-compatible server answering after --latency s per call; wall time next to one interview's wall time
    measured in the same run. Target: ratio <= 3.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from core.db import dispose_engines, get_engine  # noqa: E402
from core.models import InterviewSession  # noqa: E402
from tests.api.helpers import LiveServer  # noqa: E402
from tests.llm_server import FakeLLMServer, suggested_wording, wants_json  # noqa: E402

OWNER = "candidate"
PASSWORD = "candidate123"
ANSWERS = (
    "我叫李雷，做了四年 Java 后端，主要负责订单系统和支付对账，最近一年在做服务拆分。",
    "订单服务我们用 Redis 做库存预扣，MySQL 分库分表，消息队列保证最终一致，高峰 QPS 大约八千。",
    "最难的是一次对账差异排查：我写了比对脚本，定位到重复回调，最后加了幂等键和补偿任务。",
    "我想问一下团队现在的技术栈和新人的培养方式。",
)
EVALUATION = json.dumps({"score": 3.5, "evidence": [], "missed": [], "flags": []})
REPLY = "好的，谢谢你的回答。请具体说说你在这个项目里遇到的最大技术挑战，以及你是如何一步步定位并解决它的？"


def responder(body: dict) -> str:
    """A valid evaluation for grading calls, an interviewer question for streamed replies."""
    return EVALUATION if wants_json(body) else (suggested_wording(body) or REPLY)  # the draft: no repeats


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (default: this one) and its live children, from /proc."""
    pid = pid or os.getpid()
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or (fields[1] == str(pid) and pid != os.getpid()):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def worker_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time of each direct child of `pid` (the uvicorn workers), from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def populate(db_url: str, n_sessions: int) -> None:
    start = datetime.now(UTC) - timedelta(days=60)
    rows = [{"id": str(uuid.uuid4()), "owner": OWNER, "candidate_name": "压测",
             "target_position": f"后端开发工程师 {i}", "field": "后端开发", "level": "mid", "language": "zh-CN",
             "interview_stage": "technical",
             "is_complete": i % 3 == 0, "ended_early": False, "plan": {}, "state": {}, "message_count": 12,
             "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
             "created_at": start + timedelta(minutes=30 * i), "last_activity": start + timedelta(minutes=30 * i + 20)}
            for i in range(n_sessions)]
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(InterviewSession), rows)
    dispose_engines()


def server_env(tmp: Path, db_url: str, llm: FakeLLMServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
    env |= {"DATABASE_URL": db_url, "AUTH_CONFIG": str(tmp / "auth.yaml"), "DEMO_MODE": "true",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789", "TURN_RATE_LIMIT": "100000/minute",
            "MAX_SESSIONS_PER_USER": "100000", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_OFFLINE_MODE": "true"}
    if llm is not None:
        env |= {"INTERVIEWER_MODEL": "openai/fake-interviewer", "INTERVIEWER_API_BASE": llm.base_url,
                "INTERVIEWER_API_KEY": "sk-bench", "INTERVIEWER_TIMEOUT": "30"}
    return env


# --- (a) the session list ---------------------------------------------------------------------------------

async def list_load(server: LiveServer, clients: int, total: int) -> tuple[float, list[float], int]:
    headers = server.headers(OWNER)
    latencies: list[float] = []
    failures = 0
    remaining = total

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            response = await http.get("/api/v1/chat/sessions", headers=headers)
            latencies.append(time.perf_counter() - t0)
            failures += response.status_code != 200

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=60, limits=limits) as http:
        await asyncio.gather(*(http.get("/api/v1/chat/sessions", headers=headers) for _ in range(clients)))  # warm
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return wall, latencies, failures


def bench_list(args: argparse.Namespace, tmp: Path) -> None:
    db_url = f"sqlite:///{tmp / 'list.db'}"
    populate(db_url, args.sessions)
    server = LiveServer(tmp / "list", server_env(tmp / "list", db_url, None))
    (tmp / "list").mkdir()
    server.start()
    try:
        with server.http() as http:
            body = http.get("/api/v1/chat/sessions", headers=server.headers(OWNER))
        count, size = len(body.json()["sessions"]), len(body.content)
        server_cpu, bench_cpu = cpu_seconds(server.process.pid), cpu_seconds()
        wall, latencies, failures = asyncio.run(list_load(server, args.clients, args.requests))
        server_cpu, bench_cpu = cpu_seconds(server.process.pid) - server_cpu, cpu_seconds() - bench_cpu
    finally:
        server.stop()
    print(f"(a) GET /api/v1/chat/sessions: {count} sessions, {size / 1024:.0f} KB per response, "
          f"{args.clients} concurrent clients, {len(latencies)} requests, 1 uvicorn worker, SQLite")
    print(f"    {len(latencies) / wall:8.1f} requests/s   p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
          f"p99 {percentile(latencies, 99) * 1000:7.1f} ms   failures {failures}")
    per_request = 1000 / len(latencies)
    print(f"    server CPU {server_cpu * per_request:.1f} ms per request ({server_cpu / wall:.0%} of one core); "
          f"client process {bench_cpu * per_request:.1f} ms per request")


# --- (b) concurrent WebSocket interviews ------------------------------------------------------------------

async def one_interview(server: LiveServer, http: httpx.AsyncClient, token: str, turns: int) -> dict:
    t0 = time.perf_counter()
    started = await http.post("/api/v1/chat/start", headers={"Authorization": f"Bearer {token}"},
                              json={"target_position": "Java后端开发工程师", "field": "后端开发"})
    tokens, errors = 0, []
    if started.status_code != 201:
        return {"wall": time.perf_counter() - t0, "tokens": 0, "errors": [f"start_{started.status_code}"]}
    sid = started.json()["session_id"]
    url = f"{server.ws_url}/api/v1/chat/ws/{sid}?token={token}"
    async with connect(url, proxy=None, open_timeout=120, ping_interval=None, max_queue=None) as ws:
        json.loads(await ws.recv())  # state
        for turn in range(turns):
            await ws.send(json.dumps({"type": "message", "content": ANSWERS[turn % len(ANSWERS)],
                                      "client_message_id": str(uuid.uuid4())}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "token":
                    tokens += 1
                elif frame["type"] in ("message", "error"):
                    if frame["type"] == "error":
                        errors.append(frame["code"])
                    break
    return {"wall": time.perf_counter() - t0, "tokens": tokens, "errors": errors}


async def interviews(server: LiveServer, count: int, turns: int) -> tuple[float, list[dict]]:
    token = server.token(OWNER)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one_interview(server, http, token, turns) for _ in range(count)))
        return time.perf_counter() - t0, list(results)


def bench_interviews(args: argparse.Namespace, tmp: Path, workers: int) -> None:
    work = tmp / f"ws-{workers}"
    work.mkdir()
    with FakeLLMServer(responder=responder, latency_s=args.latency) as llm:
        server = LiveServer(work, server_env(work, f"sqlite:///{work / 'ws.db'}", llm),
                            ("--workers", str(workers)) if workers > 1 else ())
        server.start()
        try:
            # Warm-up: litellm's loading and first connections, in every worker (the kernel spreads connections
            # over the workers, so a few interviews at once reach each of them).
            asyncio.run(interviews(server, 4 * workers, args.turns))
            single_wall = statistics.median(asyncio.run(interviews(server, 1, args.turns))[0] for _ in range(3))
            calls_before = len(llm.requests)
            server_cpu, bench_cpu = cpu_seconds(server.process.pid), cpu_seconds()
            per_worker = worker_cpu_seconds(server.process.pid)
            wall, results = asyncio.run(interviews(server, args.interviews, args.turns))
            calls = len(llm.requests) - calls_before
            server_cpu, bench_cpu = cpu_seconds(server.process.pid) - server_cpu, cpu_seconds() - bench_cpu
            per_worker = {pid: cpu - per_worker.get(pid, 0.0)
                          for pid, cpu in worker_cpu_seconds(server.process.pid).items()}
        finally:
            server.stop()
            problems = [line for line in server.log().splitlines() if "Error" in line or "error" in line]
    walls = [r["wall"] for r in results]
    errors = [code for r in results for code in r["errors"]]
    print(f"(b) {args.interviews} concurrent WebSocket interviews x {args.turns} turns, fake LLM latency "
          f"{args.latency:.2f} s per call ({calls} LLM calls, {calls / max(1, args.interviews * args.turns):.1f} "
          f"per turn), {workers} uvicorn worker(s), SQLite")
    print(f"    one interview alone: {single_wall:6.2f} s (median of 3)")
    print(f"    {args.interviews} at once:       {wall:6.2f} s wall   per interview p50 {percentile(walls, 50):.2f} s"
          f"  p99 {percentile(walls, 99):.2f} s  max {max(walls):.2f} s   "
          f"{args.interviews * args.turns / wall:.1f} turns/s")
    print(f"    CPU during the concurrent run: server {server_cpu:.1f} s ({server_cpu / wall:.0%} of one core), "
          f"this process (clients + fake LLM) {bench_cpu:.1f} s; {os.cpu_count()} cores")
    if workers > 1:
        print("    CPU per worker process: " + ", ".join(f"{cpu:.1f} s" for cpu in sorted(per_worker.values())))
    print(f"    server CPU per turn {server_cpu * 1000 / (args.interviews * args.turns):.1f} ms "
          f"(interview start, WebSocket frames and {calls / max(1, args.interviews * args.turns):.1f} LLM calls)")
    print(f"    ratio {wall / single_wall:.2f}x (target <= 3x)   token frames {sum(r['tokens'] for r in results)}   "
          f"error frames {len(errors)} {sorted(set(errors)) if errors else ''}")
    for line in problems[-5:]:
        print(f"    server log: {line[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--interviews", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--workers", type=int, nargs="*", default=sorted({1, os.cpu_count() or 1}),
                        help="uvicorn worker counts for (b), one run each (default: 1 and one per core); "
                             "(a) always uses one")
    parser.add_argument("--only", choices=("list", "ws"), default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        if args.only in (None, "list"):
            bench_list(args, Path(tmp))
        if args.only in (None, "ws"):
            for workers in args.workers:
                bench_interviews(args, Path(tmp), workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
