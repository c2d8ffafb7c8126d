"""Run simulated candidates through whole interviews and print what the interviewer did with each.

    python bench/simulate.py [--language zh-CN|en] [--field 前端开发] [--level mid] [--persona strong ...]

Uses the configured interviewer: offline by default, any LiteLLM model when INTERVIEWER_MODEL is set (with
INTERVIEWER_API_BASE / INTERVIEWER_API_KEY as usual). Each run uses a fresh temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from core.config import load_settings  # noqa: E402
from core.db import get_engine  # noqa: E402
from core.interviewer.simulate import DEFAULT_INFO, PERSONAS, run_persona  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", default="zh-CN", choices=["zh-CN", "en"])
    parser.add_argument("--field", default=None, help="free-text field, e.g. 后端开发 or backend")
    parser.add_argument("--position", default=None)
    parser.add_argument("--level", default="mid", choices=["junior", "mid", "senior"])
    parser.add_argument("--jd", default=None, help="job description text")
    parser.add_argument("--persona", action="append", choices=sorted(PERSONAS), help="default: all")
    parser.add_argument("--show", action="store_true", help="print every interviewer message")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'simulate.db'}",
                                  "DEMO_MODE": "true"})
        engine = get_engine(settings.DATABASE_URL)
        interviewer = f"LLM {settings.INTERVIEWER_MODEL}" if settings.INTERVIEWER_MODEL else "offline"
        info = {**DEFAULT_INFO, "language": args.language, "level": args.level, "job_description": args.jd}
        if args.language == "en":
            info |= {"candidate_name": "Alex", "target_position": "Frontend Engineer", "field": "frontend"}
        if args.field:
            info["field"] = args.field
        if args.position:
            info["target_position"] = args.position
        print(f"Interviewer: {interviewer}; {info['target_position']} / {info['field']} / {args.level} / "
              f"{args.language}\n")
        print(f"{'persona':18} {'overall':>7} {'turns':>5} {'follow-ups':>10} {'re-asks':>7} {'seconds':>7}  stages")
        failures = 0
        for name in args.persona or list(PERSONAS):
            started = time.perf_counter()
            result = run_persona(name, engine=engine, settings=settings, info=info)
            elapsed = time.perf_counter() - started
            stages = " → ".join(result.stages)
            print(f"{name:18} {result.overall if result.overall is not None else '-':>7} {result.turns:>5} "
                  f"{result.follow_ups:>10} {result.reasks:>7} {elapsed:7.2f}  {stages}")
            if result.report is not None:
                dims = ", ".join(f"{k} {v}" for k, v in result.report.dimensions.items())
                print(f"{'':18} dimensions: {dims}")
            for problem in result.problems:
                print(f"{'':18} PROBLEM: {problem}")
            failures += bool(result.problems)
            if args.show:
                for role, kind, text in result.dialogue:
                    who = f"面试官[{kind}]" if role == "assistant" else "候选人"
                    print(f"{'':4}{who}: {text}")
                if result.report is not None:
                    for entry in result.report.per_question:
                        print(f"{'':4}[{entry['question_id']} {entry['score']}] {entry['feedback']}")
                        if entry.get("better_answer"):
                            print(f"{'':8}↳ {entry['better_answer']}")
                    print(f"{'':4}strengths: {result.report.strengths}")
                    print(f"{'':4}improvements: {result.report.improvements}")
        print(f"\n{failures} persona(s) with problems")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
