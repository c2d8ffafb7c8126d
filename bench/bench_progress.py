"""Median AppTest rerun of the My progress page with 200 past interviews (and 100 drill answers), vs baselines.

Usage: python bench/bench_progress.py [--interviews 200] [--drills 100] [--runs 15]

Baselines measured in the same run: the progress page of a user with no practice (empty state), and the
new-interview page of the same candidate (the same 200-card sidebar, no progress). Prints the medians, the ratios
and whether the target holds: the page with 200 interviews renders in at most 300 ms.

The interviews are real: a dozen are played through the interview service with the offline interviewer (different
fields, levels and skills), and their reports are copied onto the remaining sessions with dates spread over a year,
so every report has real per-question decisions without playing 200 interviews.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 300.0
PLAYED = 12
DRILL_QUESTIONS = ("backend-zh-003", "backend-zh-007", "frontend-zh-001", "data-zh-001")
DRILL_ANSWER = "原子性是说一个事务里的操作要么全做完要么全不做。隔离性靠锁和 MVCC。持久性靠 redo log 刷盘。"


def configure(data: Path) -> None:
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{data / 'bench.db'}", "AUTH_CONFIG": str(data / "auth.yaml"), "DEMO_MODE": "true",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true", "TURN_RATE_LIMIT": "100000/minute", "MAX_SESSIONS_PER_USER": "1000",
    })
    for name in ("INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_FALLBACK"):
        os.environ.pop(name, None)


def populate(owner: str, n_interviews: int, n_drills: int) -> None:
    from core import demo, drills
    from core.config import get_settings
    from core.db import get_engine, session_scope
    from core.interviewer import turns
    from core.models import InterviewSession, Report

    engine, settings = get_engine(), get_settings().model_copy(update={"INTERVIEWER_MODEL": ""})
    rng, now = random.Random(2026), datetime.now(UTC)
    fields = list(demo.POSITIONS)
    played = []
    for n in range(min(PLAYED, n_interviews)):
        field = fields[n % len(fields)]
        info = {"candidate_name": "李小明", "target_position": demo.POSITIONS[field][0], "field": field,
                "level": ("junior", "mid", "senior")[n % 3], "language": "en" if n % 5 == 4 else "zh-CN"}
        scenario = demo.Scenario(owner=owner, info=info, skill=rng.uniform(0.2, 0.9), outcome="complete",
                                 stop_after=9, start=now - timedelta(days=rng.uniform(0, 360)))
        played.append(demo.play(scenario, engine=engine, settings=settings, rng=rng, now=now))
    with session_scope(engine) as db:
        sources = [(db.get(InterviewSession, sid), db.get(Report, sid)) for sid in played]
        for n in range(n_interviews - len(played)):
            session, report = sources[n % len(sources)]
            when = now - timedelta(days=rng.uniform(0, 360))
            db.commit()  # start_interview writes in its own transaction
            started = turns.start_interview(owner=owner, engine=engine, settings=settings, info={
                "target_position": session.target_position, "field": session.field, "level": session.level,
                "language": session.language})
            copy = db.get(InterviewSession, started.session.id)
            copy.message_count, copy.is_complete, copy.interview_stage = session.message_count, True, "completed"
            copy.created_at, copy.last_activity = when - timedelta(minutes=40), when
            copy.overall_score = max(0, min(100, report.overall + rng.randint(-15, 15)))
            db.add(copy)
            db.add(Report(session_id=copy.id, overall=copy.overall_score, dimensions=dict(report.dimensions),
                          strengths=list(report.strengths), improvements=list(report.improvements),
                          per_question=list(report.per_question), summary=report.summary, created_at=when,
                          updated_at=when))
        db.commit()
    for n in range(n_drills):
        drills.evaluate(owner=owner, question_id=DRILL_QUESTIONS[n % len(DRILL_QUESTIONS)],
                        answer=DRILL_ANSWER[: 20 + (n * 7) % len(DRILL_ANSWER)], engine=engine)


def median_rerun_ms(username: str, password: str, page: str, runs: int):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.text_input(key="zm_login_username").input(username)
    at.text_input(key="zm_login_password").input(password)
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_login")).click().run()
    assert at.session_state["zm_user"] is not None and not at.exception, at.exception
    at.switch_page(page).run()
    for _ in range(2):
        at.run()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        timings.append((time.perf_counter() - started) * 1000)
        assert not at.exception, at.exception
    return statistics.median(timings), at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=200)
    parser.add_argument("--drills", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhimian-bench-") as tmp:
        configure(Path(tmp))
        from core.auth import ensure_auth_config

        ensure_auth_config()
        started = time.perf_counter()
        populate("candidate", args.interviews, args.drills)
        print(f"populated {args.interviews} interviews with reports and {args.drills} drill answers in "
              f"{time.perf_counter() - started:.1f} s")
        empty_ms, _ = median_rerun_ms("staff", "staff123", "app_pages/progress.py", args.runs)
        sidebar_ms, _ = median_rerun_ms("candidate", "candidate123", "app_pages/new_interview.py", args.runs)
        large_ms, at = median_rerun_ms("candidate", "candidate123", "app_pages/progress.py", args.runs)
        completed = next(m.value for m in at.metric if m.label == "完成面试")
        links = sum(1 for link in at.get("page_link") if link.proto.page == "drill")
    print(f"progress, no practice            : median rerun {empty_ms:7.1f} ms")
    print(f"new interview, {args.interviews} sessions      : median rerun {sidebar_ms:7.1f} ms (same sidebar)")
    print(f"progress, {args.interviews} interviews        : median rerun {large_ms:7.1f} ms "
          f"({completed} interviews shown, {links} drill links)")
    print(f"ratio large/empty progress       : {large_ms / empty_ms:5.2f}x")
    print(f"ratio progress/new-interview page: {large_ms / sidebar_ms:5.2f}x (what the progress itself adds)")
    print(f"target <= {TARGET_MS:.0f} ms with {args.interviews} interviews: "
          f"{'met' if large_ms <= TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
