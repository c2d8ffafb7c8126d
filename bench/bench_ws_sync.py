"""Cross-worker live sync on PostgreSQL: how long after worker A's socket gets a reply does a socket held by worker
B get it? Two `uvicorn api:app` processes on one fresh schema of the local PostgreSQL, the offline interviewer.

    python bench/bench_ws_sync.py [--turns 30] [--database postgresql://postgres@127.0.0.1:5432/test]

Runs the same turns twice in one run: polling only (LIVE_SYNC_LISTEN=false, the behaviour before LISTEN/NOTIFY)
and with LISTEN/NOTIFY, and prints p50 / p99 of the delay for each and their ratio.
Target (issue 12): B gets the reply "at once", i.e. far under the 0.5 s polling interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine  # noqa: E402

from tests.api.helpers import LiveServer, recv_json, scratch_schema, server_env, ws_connect  # noqa: E402

ANSWERS = ["我做过三年后端开发，主要用 Go 和 PostgreSQL，负责订单系统的接口和数据库设计。",
           "索引用 B+ 树，范围查询快；联合索引要注意最左前缀，不然用不上。",
           "上次线上慢查询是缺索引，我用 EXPLAIN 找到全表扫描，加了联合索引后从两秒降到二十毫秒。"]
TURNS_PER_SESSION = 6  # well before the offline interview ends


async def _next_message(ws, timeout: float = 30) -> dict:
    while True:
        frame = await recv_json(ws, timeout)
        if frame["type"] == "message":
            return frame
        if frame["type"] == "error":
            raise RuntimeError(frame)


async def measure(one: LiveServer, two: LiveServer, turns: int) -> list[float]:
    """Seconds from A's socket receiving each reply to B's socket receiving the same reply."""
    delays: list[float] = []
    while len(delays) < turns:
        sid = one.start_session()
        a = await ws_connect(one, sid, token=one.token())
        b = await ws_connect(two, sid, token=two.token())
        try:
            for ws in (a, b):
                assert (await recv_json(ws))["type"] == "state"
            for i in range(min(TURNS_PER_SESSION, turns - len(delays))):
                await a.send(json.dumps({"type": "message", "content": ANSWERS[i % len(ANSWERS)],
                                         "client_message_id": str(uuid.uuid4())}))
                sent = await _next_message(a)
                at_a = time.perf_counter()
                remote = await _next_message(b)
                at_b = time.perf_counter()
                assert remote["message"]["id"] == sent["message"]["id"]
                delays.append(at_b - at_a)
                await asyncio.sleep(0.2)  # a person reads before answering; also de-aligns from the poll clock
        finally:
            await a.close()
            await b.close()
    return delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_mode(database_url: str, listen: bool, turns: int) -> list[float]:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    servers: list[LiveServer] = []
    try:
        with scratch_schema(admin, database_url, "bench") as url, tempfile.TemporaryDirectory() as tmp:
            env = server_env(Path(tmp), None, DATABASE_URL=url, LIVE_SYNC_LISTEN=str(listen).lower(),
                             TURN_RATE_LIMIT="10000/minute")
            try:
                for name in ("a", "b"):
                    (Path(tmp) / name).mkdir()
                    servers.append(LiveServer(Path(tmp) / name, env).start())
                return asyncio.run(measure(servers[0], servers[1], turns))
            finally:
                for server in servers:
                    server.stop()
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = {}
    for name, listen in (("polling only (before)", False), ("LISTEN/NOTIFY (after)", True)):
        delays = run_mode(args.database, listen, args.turns)
        results[name] = (statistics.median(delays), percentile(delays, 0.99))
        print(f"{name:24} turns={len(delays)}  p50={results[name][0] * 1000:7.1f} ms"
              f"  p99={results[name][1] * 1000:7.1f} ms  max={max(delays) * 1000:7.1f} ms")
    (before_p50, before_p99), (after_p50, after_p99) = results.values()
    print(f"after/before: p50 {after_p50 / before_p50:.3f}  p99 {after_p99 / before_p99:.3f}")


if __name__ == "__main__":
    main()
