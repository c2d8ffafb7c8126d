"""Turn speed: the offline interviewer, and our LLM turn vs a bare litellm streaming call to the same server.

    python bench/bench_turns.py [--turns 200] [--llm-turns 40] [--latency-ms 0]

Targets (issue): offline turn median <= 20 ms; LLM turn through our pipeline / bare LiteLLM <= 1.3.
The bare baseline replays the very requests the turn just sent (same messages, same JSON mode, same stream flag)
straight through litellm.completion, right after the turn: a turn on an empty answer makes one streamed call; a
turn on a real answer makes TWO (a JSON grading call, then the streamed reply: the issue's workflow grades before
the server decides what to ask), so its baseline is those two bare calls. Also shown: each turn against one bare
stream of a short fixed prompt.
All figures come from this run, on a SQLite file, against a FakeLLMServer on 127.0.0.1 started here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from core.config import load_settings  # noqa: E402
from core.db import get_engine  # noqa: E402
from core.interviewer import turns  # noqa: E402
from core.interviewer.simulate import DEFAULT_INFO, Prompt, strong_answer, weak_answer  # noqa: E402
from core.interviewer.workflow import current_item  # noqa: E402
from tests.llm_server import FakeLLMServer, suggested_wording, wants_json  # noqa: E402

REPLY_TEXT = "好的，谢谢你的回答。接下来我们聊一个新的话题，请你结合自己的经验谈谈你的理解和做法？"
GRADE_JSON = '{"score": 3.5, "evidence": [], "missed": [], "flags": []}'
SETTLE_S = 0.03
REPORT_JSON = '{"strengths": ["扎实"], "improvements": ["更具体"], "summary": "不错。", "per_question": []}'


def responder(body: dict) -> str:
    if wants_json(body):
        return REPORT_JSON if "feedback report" in body["messages"][0]["content"] else GRADE_JSON
    return suggested_wording(body) or REPLY_TEXT  # a model following the draft passes the repeat guard


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(values):7.2f} ms   p95 {p95:7.2f} ms   n={len(values)}"


# CPU seconds of this process (all threads) in each ordinary turn timed so far, by run ("graded-0.0", ...).
TURN_CPU: dict[str, list[float]] = {}


def timed_turn(engine, settings, session_id: str, content: str) -> tuple[float, turns.TurnResult, int, float]:
    """(wall s, result, deltas, CPU s of the whole process: this thread, litellm's threads, the fake server)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result, deltas = None, 0
    for event in turns.run_turn(owner="bench", session_id=session_id, content=content, engine=engine,
                                settings=settings, rate_limit=False):
        if isinstance(event, turns.TurnResult):
            result = event
        else:
            deltas += 1
    return time.perf_counter() - started, result, deltas, time.process_time() - cpu_started


def next_answer(engine, session_id: str, answer_fn, turn: int, seen: dict) -> str:
    from core import sessions
    from core.db import session_scope

    with session_scope(engine) as db:
        session = sessions.get_session(db=db, owner="bench", session_id=session_id)
        item = current_item(session.plan, session.state) or {}
        stage, language = session.interview_stage, session.language
    key = item.get("id", "")
    seen[key] = seen.get(key, 0) + 1
    return answer_fn(Prompt(stage, item, "question", language, turn, seen[key] - 1))


def timed_turns(engine, settings, answer_fn, cpu_key: str | None = None):
    """Endless timed turns over successive interviews: yields (ms, is_final_turn, deltas); ordinary turns' CPU
    goes to TURN_CPU[cpu_key]."""
    while True:
        start = turns.start_interview(owner="bench", info=DEFAULT_INFO, engine=engine, settings=settings)
        seen: dict = {}
        for turn in range(80):
            content = next_answer(engine, start.session.id, answer_fn, turn, seen)
            elapsed, result, deltas, cpu = timed_turn(engine, settings, start.session.id, content)
            if cpu_key and not result.is_complete:
                TURN_CPU.setdefault(cpu_key, []).append(cpu)
            yield ms(elapsed), result.is_complete, deltas
            if result.is_complete:
                break


def run_turns(engine, settings, n: int, answer_fn) -> tuple[list[float], list[float], int]:
    """n timed turns; (ordinary turns, final turns that also build the report, total deltas)."""
    ordinary, finals, deltas_total = [], [], 0
    for _, (elapsed, final, deltas) in zip(range(n), timed_turns(engine, settings, answer_fn), strict=False):
        (finals if final else ordinary).append(elapsed)
        deltas_total += deltas
    return ordinary, finals, deltas_total


def next_ordinary(turn_iter) -> float:
    """The next turn's time, skipping final turns (they also build the report)."""
    for elapsed, final, _ in turn_iter:
        if not final:
            return elapsed
    raise AssertionError("unreachable")


def bench_offline(db_dir: Path, n: int) -> None:
    settings = load_settings({"DEMO_MODE": "true", "DATABASE_URL": f"sqlite:///{db_dir / 'offline.db'}"})
    engine = get_engine(settings.DATABASE_URL)
    run_turns(engine, settings, 20, weak_answer)  # warm-up: banks, templates, SQLite pages
    ordinary, finals, deltas = run_turns(engine, settings, n, weak_answer)
    print("Offline interviewer (SQLite file, weak candidate: evaluation + decision + reply + 2 commits per turn)")
    print(f"  turn                  {summary(ordinary)}   (target <= 20 ms)")
    if finals:
        print(f"  final turn + report   {summary(finals)}")
    print(f"  deltas per turn       {deltas / max(1, len(ordinary) + len(finals)):.1f}")


def bare_stream(server: FakeLLMServer, messages: list[dict]) -> float:
    from core.interviewer.llm import _get_litellm

    litellm = _get_litellm()
    started = time.perf_counter()
    response = litellm.completion(model="openai/fake-interviewer", messages=messages, api_base=server.base_url,
                                  api_key="sk-bench", stream=True)
    text = "".join((chunk.choices[0].delta.content or "") for chunk in response if chunk.choices)
    assert text
    return time.perf_counter() - started


def bare_replay(server: FakeLLMServer, body: dict) -> float:
    """One request our pipeline sent, sent again by a plain litellm.completion call (stream or JSON as it was)."""
    from core.interviewer.llm import _get_litellm

    litellm = _get_litellm()
    kwargs = {"model": "openai/fake-interviewer", "messages": body["messages"], "api_base": server.base_url,
              "api_key": "sk-bench"}
    if body.get("response_format"):
        kwargs["response_format"] = body["response_format"]
    started = time.perf_counter()
    if body.get("stream"):
        response = litellm.completion(**kwargs, stream=True)
        text = "".join((chunk.choices[0].delta.content or "") for chunk in response if chunk.choices)
    else:
        text = litellm.completion(**kwargs).choices[0].message.content
    assert text
    return time.perf_counter() - started


def turn_then_bare(server: FakeLLMServer, turn_iter) -> tuple[float, float, int]:
    """(our next ordinary turn in ms, the same requests replayed bare in ms, calls); final turns are skipped."""
    while True:
        before = len(server.requests)
        elapsed, final, _ = next(turn_iter)
        bodies = server.requests[before:]
        if not final:
            break
    time.sleep(SETTLE_S)
    return elapsed, ms(sum(bare_replay(server, body) for body in bodies)), len(bodies)


def bench_llm(db_dir: Path, n: int, latency_ms: float) -> None:
    with FakeLLMServer(responder=responder, latency_s=latency_ms / 1000) as server:
        env = {"DEMO_MODE": "true", "DATABASE_URL": f"sqlite:///{db_dir / f'llm-{latency_ms:.0f}.db'}",
               "INTERVIEWER_MODEL": "openai/fake-interviewer", "INTERVIEWER_API_BASE": server.base_url,
               "INTERVIEWER_API_KEY": "sk-bench", "INTERVIEWER_TIMEOUT": "10"}
        settings = load_settings(env)
        engine = get_engine(settings.DATABASE_URL)
        messages = [{"role": "system", "content": "You are an interviewer."},
                    {"role": "user", "content": "请问下一个问题？" * 20}]
        for _ in range(5):  # warm-up: the litellm import and its lazy loading are paid here, not measured
            bare_stream(server, messages)
        run_turns(engine, settings, 6, strong_answer)

        bare, graded, reply_only, bare_graded, bare_reply = [], [], [], [], []
        graded_iter = timed_turns(engine, settings, strong_answer, cpu_key=f"graded-{latency_ms}")
        reply_iter = timed_turns(engine, settings, lambda p: "嗯", cpu_key=f"reply-{latency_ms}")
        calls = {"graded": 0, "reply": 0}
        # Interleaved, so drift in machine load hits both alike; a short pause before each measurement lets
        # litellm's background logging thread of the previous call finish instead of slowing the next one.
        for kind, turns_ms, bare_ms, turn_iter in (("graded", graded, bare_graded, graded_iter),
                                                   ("reply", reply_only, bare_reply, reply_iter)):
            for _ in range(n):
                time.sleep(SETTLE_S)
                bare.append(ms(bare_stream(server, messages)))
                time.sleep(SETTLE_S)
                ours, theirs, made = turn_then_bare(server, turn_iter)
                turns_ms.append(ours)
                bare_ms.append(theirs)
                calls[kind] += made

    median_bare = statistics.median(bare)
    median_graded, median_bare_graded = statistics.median(graded), statistics.median(bare_graded)
    median_reply, median_bare_reply = statistics.median(reply_only), statistics.median(bare_reply)
    print(f"\nLLM interviewer vs bare litellm (FakeLLMServer on 127.0.0.1, server latency {latency_ms:.0f} ms)")
    print(f"  run_turn, reply only (empty answer → re-ask)   {summary(reply_only)}   "
          f"{calls['reply'] / n:.1f} call/turn")
    print(f"  the same request, bare litellm                 {summary(bare_reply)}")
    print(f"  run_turn, graded answer (grading + reply)      {summary(graded)}   "
          f"{calls['graded'] / n:.1f} calls/turn")
    print(f"  the same 2 requests, bare litellm              {summary(bare_graded)}")
    print(f"  one bare stream of a short fixed prompt        {summary(bare)}")
    print(f"  ratio reply-only turn / bare                   {median_reply / median_bare_reply:5.2f}  (target <= 1.3)")
    print(f"  ratio graded turn / bare (same 2 calls)        {median_graded / median_bare_graded:5.2f}  "
          "(target <= 1.3)")
    print(f"  (vs one short bare stream: reply-only {median_reply / median_bare:.2f}, graded "
          f"{median_graded / median_bare:.2f}: a graded turn makes two calls by design)")
    print(f"  our overhead per turn                          {median_reply - median_bare_reply:7.2f} ms reply-only, "
          f"{median_graded - median_bare_graded:.2f} ms graded (the DB transactions before and after the calls, "
          "evaluation, decision, context)")
    for kind in ("graded", "reply"):
        cpu = TURN_CPU.get(f"{kind}-{latency_ms}") or [0.0]
        print(f"  CPU per {kind} turn (process, incl. fake server) median {ms(statistics.median(cpu)):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--llm-turns", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 100.0],
                        help="simulated model latency per request; one LLM comparison per value")
    parser.add_argument("--skip-llm", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_offline(Path(tmp), args.turns)
        if not args.skip_llm:
            for latency in args.latency_ms:
                bench_llm(Path(tmp), args.llm_turns if latency < 50 else max(10, args.llm_turns // 2), latency)


if __name__ == "__main__":
    main()
