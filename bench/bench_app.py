"""Median AppTest rerun of app.py: 300 sessions in the sidebar with a 100-message chat open, vs an empty sidebar.

Usage: python bench/bench_app.py [--sessions 300] [--messages 100] [--runs 15]
Prints both medians and their ratio; the target for the large case is at most 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 300.0


def configure(data: Path) -> None:
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{data / 'bench.db'}", "AUTH_CONFIG": str(data / "auth.yaml"), "DEMO_MODE": "true",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
    })
    for name in ("INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_FALLBACK"):
        os.environ.pop(name, None)


def populate(owner: str, n_sessions: int, n_messages: int) -> None:
    """n_sessions spread over two months; the newest (the one that opens) holds n_messages messages."""
    from core import sessions
    from core.db import get_engine, session_scope
    from core.interviewer import turns
    from core.models import InterviewSession, utcnow

    fields = ["前端开发", "后端开发", "数据分析", "产品管理", "人工智能", "测试开发", "运维/DevOps", "通用"]
    now = utcnow()
    with session_scope(get_engine()) as db:
        for i in range(n_sessions):
            started = turns.start_interview(owner=owner, engine=db.get_bind(), info={
                "candidate_name": "李小明", "target_position": f"岗位 {i:03d}", "field": fields[i % len(fields)]})
            s = db.get(InterviewSession, started.session.id)
            for j in range(n_messages if i == n_sessions - 1 else (i % 12)):
                role = "assistant" if j % 2 == 0 else "user"
                sessions.add_message(db=db, session=s, role=role, content=f"第 {j} 条消息：" + "内容" * 40,
                                     client_message_id=None if role == "assistant" else f"c{j}")
            s.last_activity = now - timedelta(hours=(n_sessions - 1 - i) * 5)
            db.add(s)
            db.commit()


def median_rerun_ms(username: str, password: str, runs: int) -> tuple[float, int, int]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.text_input(key="zm_login_username").input(username)
    at.text_input(key="zm_login_password").input(password)
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_login")).click().run()
    assert at.session_state["zm_user"] is not None and not at.exception, at.exception
    for _ in range(2):
        at.run()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        timings.append((time.perf_counter() - started) * 1000)
        assert not at.exception, at.exception
    cards = sum(1 for b in at.sidebar.button if b.key.startswith("zm_open_"))
    return statistics.median(timings), cards, len(at.chat_message)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhimian-bench-") as tmp:
        configure(Path(tmp))
        from core.auth import ensure_auth_config

        ensure_auth_config()
        started = time.perf_counter()
        populate("candidate", args.sessions, args.messages)
        print(f"populated {args.sessions} sessions ({args.messages} messages in the open one) in "
              f"{time.perf_counter() - started:.1f} s")
        empty_ms, empty_cards, _ = median_rerun_ms("staff", "staff123", args.runs)
        large_ms, cards, messages = median_rerun_ms("candidate", "candidate123", args.runs)
    print(f"empty sidebar          : median rerun {empty_ms:7.1f} ms ({empty_cards} cards)")
    print(f"{args.sessions} sessions + chat   : median rerun {large_ms:7.1f} ms "
          f"({cards} cards rendered, {messages} chat messages)")
    print(f"ratio large/empty      : {large_ms / empty_ms:5.2f}x   target for the large case <= {TARGET_MS:.0f} ms: "
          f"{'met' if large_ms <= TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
