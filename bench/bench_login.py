"""Does a burst of logins hold up other requests? `/health` latency idle, then while N logins run at once.

Starts `uvicorn api:app` (one worker, fresh SQLite file and accounts in a temp folder), measures /health alone,
then fires N concurrent logins (each from its own forwarded address, so per-address caps stay out of the way)
and probes /health every 0.2 s until they finish. Prints medians and the ratio against the idle baseline of the
same run. Issue 11 measured /health going from 4 ms to 23.6 s behind 100 logins.

    python bench/bench_login.py [--logins 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health_ms(base: str) -> float:
    began = time.perf_counter()
    httpx.get(f"{base}/api/v1/health", timeout=120, trust_env=False).raise_for_status()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")} | {
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db", "AUTH_CONFIG": f"{tmp}/auth.yaml", "DEMO_MODE": "true",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789"}
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api:app", "--port", str(port),
                                   "--log-level", "warning"], cwd=ROOT, env=env)
        try:
            for _ in range(300):
                try:
                    health_ms(base)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            idle = statistics.median(health_ms(base) for _ in range(20))

            def login(i: int) -> int:
                return httpx.post(f"{base}/api/v1/auth/token", timeout=300, trust_env=False,
                                  data={"username": "candidate", "password": "candidate123"},
                                  headers={"X-Forwarded-For": f"10.{i // 250}.{i % 250}.1"}).status_code

            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.logins) as pool:
                logins = [pool.submit(login, i) for i in range(args.logins)]
                time.sleep(0.5)
                during = []
                while not all(f.done() for f in logins):
                    during.append(health_ms(base))
                    time.sleep(0.2)
                statuses = [f.result() for f in logins]
            burst_s = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(15)
    print(f"/health idle: median {idle:.1f} ms")
    print(f"{args.logins} logins at once: done in {burst_s:.1f} s "
          f"({statuses.count(200)} × 200, {len(statuses) - statuses.count(200)} other)")
    if during:
        print(f"/health during the burst: {len(during)} probes, median {statistics.median(during):.0f} ms, "
              f"max {max(during):.0f} ms, median/idle = {statistics.median(during) / idle:.1f}×")


if __name__ == "__main__":
    main()
