"""Session-list speed: our service against raw sqlite3 selecting the same columns from the same file, same run.

    python bench/bench_sessions.py [--sessions 1000] [--messages 50] [--repeat 200]

Target (issue 12): median of list_session_summaries <= 10 ms and <= 2.0x the raw query of the same columns (what
the service adds: SQLAlchemy, aware datetimes, status and duration, one object per row). The two are timed in
alternation, so a machine loaded by other work slows both alike. The COUNT aggregate is printed for reference only:
it is slower than either because it joins the messages, which hides the service's own overhead.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from core import sessions  # noqa: E402
from core.db import get_engine, session_scope  # noqa: E402
from core.models import InterviewSession, Message  # noqa: E402

RAW_QUERY = """
SELECT s.id, s.title, s.target_position, s.field, s.level, s.language, s.created_at, s.last_activity,
       COUNT(m.id) AS message_count, s.interview_stage, s.is_complete
FROM interview_session s LEFT JOIN message m ON m.session_id = s.id
WHERE s.owner = ? GROUP BY s.id ORDER BY s.last_activity DESC
"""
# The same columns our service reads (message_count is kept up to date on every insert): isolates ORM overhead.
RAW_SAME_COLUMNS = """
SELECT id, title, target_position, field, level, language, created_at, last_activity, message_count,
       interview_stage, is_complete
FROM interview_session WHERE owner = ? ORDER BY last_activity DESC, created_at DESC
"""


def populate(engine, n_sessions: int, n_messages: int, owner: str = "bench") -> None:
    start = datetime.now(UTC) - timedelta(days=60)
    rows, messages = [], []
    for i in range(n_sessions):
        sid = str(uuid.uuid4())
        created = start + timedelta(minutes=i * 30)
        rows.append({"id": sid, "owner": owner, "candidate_name": "压测", "target_position": f"岗位 {i}",
                     "field": "后端开发", "level": "mid", "language": "zh-CN", "interview_stage": "technical",
                     "is_complete": i % 3 == 0, "ended_early": False, "plan": {}, "state": {},
                     "message_count": n_messages, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
                     "created_at": created, "last_activity": created + timedelta(minutes=20)})
        for j in range(n_messages):
            messages.append({"session_id": sid, "role": "assistant" if j % 2 == 0 else "user",
                             "content": f"消息内容 {j} " * 8, "kind": "question", "stage": "technical",
                             "status": "complete", "created_at": created + timedelta(seconds=j * 20)})
    with engine.begin() as conn:
        conn.execute(insert(InterviewSession), rows)
        for k in range(0, len(messages), 10_000):
            conn.execute(insert(Message), messages[k:k + 10_000])


def interleaved_ms(fns: dict, repeat: int) -> dict[str, list[float]]:
    """Milliseconds of each call of each function, calling them in turn `repeat` times (after one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return times


def tenth_percentile(values: list[float]) -> float:
    return sorted(values)[len(values) // 10]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        engine = get_engine(f"sqlite:///{path}")
        t0 = time.perf_counter()
        populate(engine, args.sessions, args.messages)
        print(f"populated {args.sessions} sessions x {args.messages} messages in {time.perf_counter() - t0:.1f} s")

        def ours():
            with session_scope(engine) as db:
                result = sessions.list_session_summaries(db=db, owner="bench")
            assert len(result) == args.sessions

        raw = sqlite3.connect(path)

        def baseline():
            result = raw.execute(RAW_QUERY, ("bench",)).fetchall()
            assert len(result) == args.sessions

        def same_columns():
            assert len(raw.execute(RAW_SAME_COLUMNS, ("bench",)).fetchall()) == args.sessions

        times = interleaved_ms({"ours": ours, "same": same_columns}, args.repeat)
        aggregate = interleaved_ms({"aggregate": baseline}, max(5, args.repeat // 10))["aggregate"]
        aggregate_ms = statistics.median(aggregate)
        ours_ms, plain_ms = statistics.median(times["ours"]), statistics.median(times["same"])
        ours_p10, plain_p10 = tenth_percentile(times["ours"]), tenth_percentile(times["same"])
        print(f"list_session_summaries median:        {ours_ms:.2f} ms (target <= 10 ms)")
        print(f"raw sqlite3 same columns median:      {plain_ms:.2f} ms")
        print(f"ratio ours/raw same columns:          {ours_ms / plain_ms:.2f} (target <= 2.0)")
        print(f"10th percentiles (least disturbed by other load): ours {ours_p10:.2f} ms, raw {plain_p10:.2f} ms, "
              f"ratio {ours_p10 / plain_p10:.2f}")
        print(f"raw sqlite3 COUNT aggregate median:   {aggregate_ms:.2f} ms (reference: joins the messages)")


if __name__ == "__main__":
    main()
