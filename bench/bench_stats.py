"""Time the sessions frame and the exports on a SQLite file with 10,000 sessions and 200,000 messages.

    python bench/bench_stats.py [--sessions 10000] [--messages 200000] [--report-share 0.4]

Set-up uses bulk inserts (not the session service) so it takes seconds; the timed part is core.stats only.
Target: the CSV export (query + frame + CSV) in at most 3 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from core import stats
from core.db import get_engine
from core.models import DIMENSIONS, LEVELS, STAGES, InterviewSession, Message, Report

CSV_TARGET_SECONDS = 3.0
FIELDS = ("前端开发", "后端开发", "数据分析", "产品经理", "人工智能", "软件测试", "运维开发", "通用")


def build_database(url: str, *, sessions: int, messages: int, report_share: float, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = get_engine(url)
    now = datetime.now(UTC)
    session_rows, report_rows, message_stages = [], [], []
    for i in range(sessions):
        created = now - timedelta(days=rng.uniform(0, 30))
        stage = reached = rng.choice(STAGES)
        ended_early = stage != "completed" and rng.random() < 0.15  # left mid-way: stage completed, messages not
        if ended_early:
            stage = "completed"
        complete = stage == "completed"
        session_rows.append({
            "id": str(uuid.uuid4()), "owner": f"user{i % 800}", "candidate_name": f"候选人{i % 800}",
            "target_position": f"{rng.choice(FIELDS)}工程师", "field": rng.choice(FIELDS), "level": rng.choice(LEVELS),
            "language": "zh-CN", "interview_stage": stage, "is_complete": complete, "ended_early": ended_early,
            "plan": {}, "state": {}, "message_count": messages // sessions, "prompt_tokens": rng.randint(0, 20000),
            "completion_tokens": rng.randint(0, 5000), "cost_usd": rng.uniform(0, 0.05), "llm_model": None,
            "created_at": created, "last_activity": created + timedelta(minutes=rng.randint(1, 60)),
        })
        message_stages.append(reached)
        if complete or rng.random() < report_share:
            report_rows.append({
                "session_id": session_rows[-1]["id"], "overall": rng.randint(30, 100),
                "dimensions": {d: rng.randint(30, 100) for d in DIMENSIONS}, "strengths": [], "improvements": [],
                "per_question": [], "summary": "总体表现良好。", "source": "offline",
                "created_at": now, "updated_at": now,
            })
    with engine.begin() as conn:
        conn.execute(insert(InterviewSession), session_rows)
        conn.execute(insert(Report), report_rows)
        batch = []
        for j in range(messages):
            row = session_rows[j % sessions]
            batch.append({
                "session_id": row["id"], "role": "assistant" if j % 2 == 0 else "user",
                "content": "请介绍一下你最近的项目。" if j % 2 == 0 else "我负责了数据平台的搭建……" * 3,
                "kind": "question" if j % 2 == 0 else "answer", "stage": message_stages[j % sessions],
                "status": "complete", "created_at": row["created_at"],
            })
            if len(batch) == 20_000:
                conn.execute(insert(Message), batch)
                batch = []
        if batch:
            conn.execute(insert(Message), batch)


def timed(label: str, fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<38} {best * 1000:9.1f} ms")
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--report-share", type=float, default=0.4, help="share of unfinished sessions with a report")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        start = time.perf_counter()
        build_database(url, sessions=args.sessions, messages=args.messages, report_share=args.report_share)
        print(f"set-up: {args.sessions:,} sessions, {args.messages:,} messages in {time.perf_counter() - start:.1f} s")
        engine = get_engine(url)
        everything = stats.SessionFilters()

        _, frame = timed("load_sessions (1 query + frame)", lambda: stats.load_sessions(engine=engine))
        timed("aggregates (headline, daily, field, …)", lambda: (
            stats.headline(frame), stats.daily_counts(frame), stats.field_summary(frame),
            stats.stage_funnel(frame), stats.score_distribution(frame), stats.dimension_means(frame)))
        results = {}
        for fmt in stats.EXPORT_FORMATS:
            seconds, export = timed(f"export_sessions fmt={fmt} (end to end)",
                                    lambda fmt=fmt: stats.export_sessions(engine=engine, filters=everything, fmt=fmt),
                                    repeat=3 if fmt != "xlsx" else 1)
            results[fmt] = seconds
            print(f"{'':<38} {len(export.content) / 1e6:9.2f} MB")
        print(f"rows: {len(frame):,}; reports: {int(frame['score_overall'].notna().sum()):,}; "
              f"ended early: {int(frame['ended_early'].sum()):,}")
        ratio = results["csv"] / CSV_TARGET_SECONDS
        verdict = "OK" if ratio <= 1 else "TOO SLOW"
        print(f"CSV export / {CSV_TARGET_SECONDS:.0f} s target = {ratio:.3f}  ({verdict})")
        engine.dispose()


if __name__ == "__main__":
    main()
