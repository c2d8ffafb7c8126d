"""Prompt and output budget of the LLM interviewer, before vs after, on the same scripted 12-turn interview.

    python bench/prompt_budget.py [--before REF] [--turns 12]

Each side runs in its own process from its own source tree (`--before` is a git ref, extracted with `git archive`
into a temporary folder; "after" is this working tree) against its own FakeLLMServer, which records every request.
The interview is the same on both sides: the same session id (uuid4 seeded), the strong simulated candidate, the
same canned model outputs; then it is ended and its report built. Prompt tokens are counted with LiteLLM's
token_counter and the offline o200k tokenizer (model "gpt-4o"); the output budget is the request's max_tokens.

Targets (issue "Real models"): grading prompt <= 450 and reply prompt <= 400 tokens at turn 10; grading output
<= 120 tokens; the report call writes prose only in <= 400 output tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BEFORE = "b16e085"  # main before the "Real models" work
TARGETS = {"grade": 450, "reply": 400}
TOKENIZER_MODEL = "gpt-4o"

REPLIES = "好的，谢谢你的回答。我们接着聊下一个话题，这是第{n}个问题，请你结合经验谈谈你的做法？"
GRADE = {"score": 3.5, "evidence": [], "missed": [], "flags": []}
REPORT = {"summary": "整体表现稳定，技术基础扎实。", "strengths": ["表达清楚"], "improvements": ["多举具体例子"],
          "per_question": []}

# Runs inside the measured tree: one interview, the recorded requests as JSON on stdout.
CHILD = r'''
import json, os, random, sys, tempfile, uuid
sys.path.insert(0, os.getcwd())
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_OFFLINE_MODE"] = "true"
rng = random.Random(7)
uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
from itertools import count
from tests.llm_server import FakeLLMServer
from core.config import load_settings
from core.db import get_engine, session_scope
from core.interviewer import turns
from core.interviewer.simulate import DEFAULT_INFO, Prompt, strong_answer
from core.interviewer.workflow import current_item
from core.models import InterviewSession
spec = json.loads(sys.argv[1])
numbers = count(1)

def responder(body):
    system = body["messages"][0]["content"].lower()
    if "grade" in system and "answer" in system:
        return json.dumps(spec["grade"])
    if "feedback report" in system:
        return json.dumps(spec["report"], ensure_ascii=False)
    system = body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    for marker in ("Suggested wording (you may rephrase): ", "A possible phrasing (you may reword it): "):
        if marker in user or marker in system:  # a model that follows the server's draft, as instructed
            text = user if marker in user else system
            return text.split(marker, 1)[1].splitlines()[0]
    return spec["reply"].format(n=next(numbers))

with FakeLLMServer(responder=responder) as fake, tempfile.TemporaryDirectory() as tmp:
    env = {"DATABASE_URL": f"sqlite:///{tmp}/b.db", "INTERVIEWER_MODEL": "openai/fake-interviewer",
           "INTERVIEWER_API_BASE": fake.base_url, "INTERVIEWER_API_KEY": "sk-test", "DEMO_MODE": "true",
           "SECRET_KEY_FILE": f"{tmp}/.key"}
    settings = load_settings(env)
    engine = get_engine(env["DATABASE_URL"])
    sid = turns.start_interview(owner="bench", info=DEFAULT_INFO, engine=engine, settings=settings).session.id
    marks, kind = [], "welcome"
    for turn in range(spec["turns"]):
        with session_scope(engine) as db:
            session = db.get(InterviewSession, sid)
            item = current_item(session.plan, session.state) or {}
            stage, language = session.interview_stage, session.language
        marks.append(len(fake.requests))
        result = None
        for event in turns.run_turn(owner="bench", session_id=sid, engine=engine, settings=settings,
                                    content=strong_answer(Prompt(stage, item, kind, language, turn, 0)),
                                    rate_limit=False):
            result = event
        kind = result.reply.kind
        if result.is_complete:
            break
    marks.append(len(fake.requests))
    if not result.is_complete:
        turns.end_interview(owner="bench", session_id=sid, engine=engine, settings=settings)
    print("JSON:" + json.dumps({"requests": fake.requests, "marks": marks}, ensure_ascii=False))
    if os.environ.get("PROMPT_BUDGET_DUMP"):
        with open(os.environ["PROMPT_BUDGET_DUMP"], "w") as out:
            json.dump(fake.requests, out, ensure_ascii=False, indent=1)
'''


def _tree_at(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, turns: int) -> dict:
    spec = {"turns": turns, "reply": REPLIES, "grade": GRADE, "report": REPORT}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec, ensure_ascii=False)], cwd=tree,
                          capture_output=True, text=True, timeout=900)
    line = next((line for line in done.stdout.splitlines() if line.startswith("JSON:")), None)
    if line is None:
        raise SystemExit(f"measurement failed in {tree}:\n{done.stderr[-3000:]}")
    return json.loads(line[5:])


def _kind(body: dict) -> str:
    system = body["messages"][0]["content"].lower()
    if "grade" in system and "answer" in system:
        return "grade"
    return "report" if "feedback report" in system else "reply"


def _count(body: dict) -> int:
    import litellm

    return litellm.token_counter(model=TOKENIZER_MODEL, messages=body["messages"])


def _table(run: dict) -> tuple[dict, dict, dict]:
    """(per turn: kind -> prompt tokens, per kind: [prompt tokens], per kind: max_tokens asked)."""
    requests, marks = run["requests"], run["marks"]
    per_turn: dict[int, dict[str, int]] = defaultdict(dict)
    per_kind: dict[str, list[int]] = defaultdict(list)
    caps: dict[str, set] = defaultdict(set)
    for index, body in enumerate(requests):
        kind = _kind(body)
        tokens = _count(body)
        turn = next((t + 1 for t in range(len(marks) - 1) if marks[t] <= index < marks[t + 1]), None)
        if turn is not None:
            per_turn[turn][kind] = per_turn[turn].get(kind, 0) + tokens  # a regenerated reply adds up
        per_kind[kind].append(tokens)
        caps[kind].add(body.get("max_tokens"))
    return per_turn, per_kind, caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git ref of the baseline")
    parser.add_argument("--turns", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"before": _run(_tree_at(args.before, Path(tmp)), args.turns), "after": _run(ROOT, args.turns)}
    tables = {side: _table(run) for side, run in runs.items()}
    print(f"Prompt tokens per call ({TOKENIZER_MODEL} tokenizer), scripted {args.turns}-turn interview, "
          f"before = {args.before}, after = working tree\n")
    print("turn | grade before -> after | reply before -> after")
    turns = sorted(set(tables["before"][0]) | set(tables["after"][0]))
    for turn in turns:
        b, a = tables["before"][0].get(turn, {}), tables["after"][0].get(turn, {})
        print(f"{turn:4} | {b.get('grade', '-'):>6} -> {a.get('grade', '-'):<6}      | "
              f"{b.get('reply', '-'):>6} -> {a.get('reply', '-')}")
    print("\nkind   | calls before/after | mean prompt before -> after | max before -> after | max_tokens asked")
    for kind in ("grade", "reply", "report"):
        b, a = tables["before"][1].get(kind, []), tables["after"][1].get(kind, [])
        mean_b = sum(b) / len(b) if b else 0
        mean_a = sum(a) / len(a) if a else 0
        ratio = f"{mean_a / mean_b:.2f}x" if mean_b else "-"
        caps_b, caps_a = (sorted(map(str, tables[side][2][kind])) for side in ("before", "after"))
        print(f"{kind:6} | {len(b):>5} / {len(a):<5}      | {mean_b:7.0f} -> {mean_a:<7.0f} ({ratio:>6})   | "
              f"{max(b, default=0):5} -> {max(a, default=0):<5}   | before {caps_b} after {caps_a}")
    at = tables["after"][0].get(10, {})
    print("\nTargets at turn 10: " + ", ".join(
        f"{kind} {at.get(kind, '-')} <= {limit}: {'OK' if at.get(kind, 0) <= limit else 'MISSED'}"
        for kind, limit in TARGETS.items()))


if __name__ == "__main__":
    main()
