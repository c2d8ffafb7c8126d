"""Plans and the decision state machine."""

from __future__ import annotations

import pytest

from core.interviewer.bank import load_banks
from core.interviewer.offline import AnswerEvaluation
from core.interviewer.workflow import (
    MAX_FOLLOW_UPS,
    PLAN_SHAPE,
    build_plan,
    decide,
    initial_state,
    stage_progress,
)


def _plan(session_id="s-1", **overrides):
    args = {"field": "前端开发", "target_position": "React前端开发工程师", "level": "mid", "language": "zh-CN",
            "job_description": None} | overrides
    return build_plan(banks=load_banks(), session_id=session_id, **args)


def _ev(score, *, flags=(), substantive=True, any_substance=True, coverage=0.0, covered=(), missed=()):
    return AnswerEvaluation(score=score, flags=list(flags), substantive=substantive, any_substance=any_substance,
                            coverage=coverage, covered=list(covered), missed=list(missed))


STRONG = _ev(5.0, coverage=1.0, covered=["a"])
THIN = _ev(1.0, coverage=0.0, missed=["a"])
EMPTY = _ev(0.0, flags=["empty"], substantive=False, any_substance=False)


def test_plan_shape_is_deterministic_and_unique():
    plan = _plan()
    assert plan == _plan()
    ids = [i["id"] for i in plan["items"]]
    assert len(ids) == len(set(ids))
    stages = [i["stage"] for i in plan["items"]]
    assert stages == sorted(stages, key=list(PLAN_SHAPE).index)
    assert stages.count("technical") == PLAN_SHAPE["technical"]
    assert stages[0] == "self_intro" and stages[-2:] == ["candidate_questions", "wrap_up"]
    technical = [i for i in plan["items"] if i["stage"] == "technical"]
    assert sum(i["level"] in ("mid", "any") for i in technical) >= 3
    assert any(_plan(session_id=f"s-{n}")["items"] != plan["items"] for n in range(2, 8))


@pytest.mark.parametrize("level", ["junior", "mid", "senior"])
def test_plan_levels(level):
    technical = [i for i in _plan(level=level)["items"] if i["stage"] == "technical"]
    assert sum(i["level"] in (level, "any") for i in technical) >= len(technical) - 1


def test_plan_prefers_job_description_keywords():
    banks = load_banks()
    questions = banks.questions("frontend", "zh-CN", "technical", level="mid")
    target = next(q for q in questions if any(t.isascii() and len(t) > 3 for t in q.tags))
    tag = next(t for t in target.tags if t.isascii() and len(t) > 3)
    hits = 0
    for n in range(5):
        plan = _plan(session_id=f"jd-{n}", job_description=f"岗位要求：精通 {tag}，有大型项目经验。")
        hits += any(tag in i["tags"] for i in plan["items"] if i["stage"] == "technical")
    assert hits == 5


def test_english_plan():
    plan = _plan(language="en", field="frontend", target_position="Frontend Engineer")
    assert all(i["question"].isascii() or True for i in plan["items"])
    assert plan["field_key"] == "frontend" and plan["language"] == "en"


def test_empty_answer_is_reasked_once_then_moves_on():
    plan = _plan()
    first = decide(plan=plan, state=initial_state(), stage="self_intro", evaluation=EMPTY)
    assert first.action == "reask" and first.stage == "self_intro" and first.state["index"] == 0
    second = decide(plan=plan, state=first.state, stage="self_intro", evaluation=EMPTY)
    assert second.action == "next_stage" and second.stage == "technical" and second.state["index"] == 1
    assert second.state["reasks"] == 0 and second.stage_changed


def test_thin_answers_get_capped_follow_ups():
    plan = _plan()
    state = {**initial_state(), "index": 1}
    actions = []
    for _ in range(4):
        decision = decide(plan=plan, state=state, stage="technical", evaluation=THIN)
        actions.append(decision.action)
        state = decision.state
        if decision.action != "follow_up":
            break
    assert actions == ["follow_up"] * MAX_FOLLOW_UPS["technical"] + ["next_question"]
    follow_ups = [f for f in plan["items"][1]["follow_ups"]]
    first = decide(plan=plan, state={**initial_state(), "index": 1}, stage="technical", evaluation=THIN)
    assert first.follow_up == (follow_ups[0] if follow_ups else None)


def test_strong_answer_advances_and_nonsense_after_an_answer_moves_on():
    plan = _plan()
    state = {**initial_state(), "index": 1}
    assert decide(plan=plan, state=state, stage="technical", evaluation=STRONG).action == "next_question"
    after_answer = _ev(0.0, flags=["gibberish"], substantive=False, any_substance=True)
    assert decide(plan=plan, state=state, stage="technical", evaluation=after_answer).action == "next_question"


def test_candidate_questions_and_wrap_up():
    plan = _plan()
    index = next(i for i, item in enumerate(plan["items"]) if item["stage"] == "candidate_questions")
    state = {**initial_state(), "index": index}
    answer = decide(plan=plan, state=state, stage="candidate_questions", evaluation=None, candidate_asked=True)
    assert answer.action == "answer_candidate" and answer.kind == "answer" and answer.stage == "candidate_questions"
    last = decide(plan=plan, state=answer.state, stage="candidate_questions", evaluation=None, candidate_asked=True)
    assert last.stage == "wrap_up" and last.answers_candidate  # capped at two: answer, then wrap up
    done = decide(plan=plan, state=state, stage="candidate_questions", evaluation=None, candidate_asked=False)
    assert done.stage == "wrap_up" and not done.answers_candidate
    end = decide(plan=plan, state=done.state, stage="wrap_up", evaluation=None)
    assert end.action == "end" and end.completes and end.kind == "closing"


def test_stage_progress():
    assert [stage_progress(s)[0] for s in ("welcome", "self_intro", "technical", "project", "behavioral",
                                           "candidate_questions", "wrap_up", "completed")] == [1, 2, 3, 4, 5, 6, 7, 7]


def test_plans_from_cached_bank_reads_match_a_cold_start_and_stay_independent(tmp_path):
    """build_plan reads each bank slice once per process; plans stay identical to a first read, and are copies."""
    import shutil

    from core.interviewer.bank import DEFAULT_BANK_DIR

    for path in DEFAULT_BANK_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    fresh = load_banks(tmp_path)  # another banks object: nothing cached for it yet
    cases = [{"level": level, "language": language, "job_description": jd}
             for level in ("junior", "mid", "senior") for language in ("zh-CN", "en")
             for jd in (None, "精通 React、TypeScript 和 webpack")]
    for n, case in enumerate(cases):
        warm = _plan(session_id=f"cache-{n}", **case)
        assert warm == build_plan(banks=fresh, session_id=f"cache-{n}", field="前端开发",
                                  target_position="React前端开发工程师", **case)
    plan = _plan(session_id="cache-mutate")
    plan["items"][0]["key_points"].clear()
    plan["items"][1]["tags"].append("changed")
    plan["field_terms"].append("changed")
    assert _plan(session_id="cache-mutate") != plan  # a stored plan never shares state with the cache
    assert _plan(session_id="cache-mutate")["items"][0]["key_points"]
