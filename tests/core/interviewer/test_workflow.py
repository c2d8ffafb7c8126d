"""Plans and the decision state machine."""

from __future__ import annotations

import pytest

from core.interviewer.bank import load_banks
from core.interviewer.judge import AnswerEvaluation
from core.interviewer.listen import Heard, Offer
from core.interviewer.workflow import (
    MAX_CANDIDATE_QUESTIONS,
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


def _heard(**offers) -> Heard:
    heard = Heard(**offers)
    heard.offers = [o for o in offers.values() if isinstance(o, Offer)]
    return heard


MIDDLE = _ev(3.0, coverage=0.8, covered=["a", "c"], missed=["b"])
PARTIAL = _ev(2.5, coverage=0.4, covered=["a"], missed=["b", "c"])
PROBE = Offer("probe", "缓存和数据库的一致性你们是怎么保证的？", said="Redis", probe_term="Redis")
DEEP_PROBE = Offer("deep", "热点 key 失效时怎么扛住？", said="Redis", probe_term="Redis")
MISSED = Offer("missed_point", "如果机器断电，数据会丢吗？", said="undo log", point="持久性")
DEEP = Offer("deep", "MySQL 靠什么保证崩溃后数据不丢？")
SIMPLER = Offer("simpler", "一个事务执行到一半失败了，会怎么样？")
CHALLENGE = Offer("challenge", "如果攻击者绕过前端呢？", said="前端校验一下参数就行")


def _technical_state():
    return {**initial_state(), "index": 1}


def test_a_middling_answer_is_followed_up_on_what_it_said_then_capped():
    plan = _plan()
    heard = _heard(probe=PROBE, missed=MISSED)
    first = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=MIDDLE, heard=heard)
    assert first.action == "follow_up" and first.offer is PROBE and first.state["probed"] == ["Redis"]
    again = _heard(missed=MISSED)
    second = decide(plan=plan, state=first.state, stage="technical", evaluation=MIDDLE, heard=again)
    assert second.action == "follow_up" and second.offer is MISSED
    third = decide(plan=plan, state=second.state, stage="technical", evaluation=MIDDLE, heard=again)
    assert third.action == "next_question" and third.state["follow_ups"] == 0
    assert third.state["probed"] == ["Redis"]  # a probed term is not probed again later in the interview
    assert MAX_FOLLOW_UPS["technical"] == 2
    # An answer that leaves most points out is asked about the most important one first.
    partial = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=PARTIAL, heard=heard)
    assert partial.offer is MISSED


def test_a_strong_answer_earns_a_deeper_question_a_weak_one_one_simpler_rephrase():
    plan = _plan()
    strong = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=STRONG,
                    heard=_heard(deep_probe=DEEP_PROBE, deep=DEEP, missed=MISSED))
    assert strong.action == "follow_up" and strong.offer is DEEP_PROBE and strong.state["deep"] == 1
    no_probe = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=STRONG,
                      heard=_heard(deep=DEEP))
    assert no_probe.offer is DEEP and no_probe.state["used_follow_ups"] == [DEEP.question]
    weak = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=THIN,
                  heard=_heard(simpler=SIMPLER, missed=MISSED))
    assert weak.action == "simpler" and weak.offer is SIMPLER
    after = decide(plan=plan, state=weak.state, stage="technical", evaluation=THIN,
                   heard=_heard(simpler=SIMPLER, missed=MISSED))
    assert after.action == "next_question"  # no second rephrase, no string of follow-ups for a weak answer
    assert decide(plan=plan, state=_technical_state(), stage="technical", evaluation=STRONG,
                  heard=_heard()).action == "next_question"


def test_a_misconception_is_challenged_once_before_anything_else():
    plan = _plan()
    wrong = _ev(1.5, coverage=0.2, missed=["a"])
    challenge = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=wrong,
                       heard=_heard(challenge=CHALLENGE, simpler=SIMPLER))
    assert challenge.action == "challenge" and challenge.offer is CHALLENGE and challenge.kind == "follow_up"
    again = decide(plan=plan, state=challenge.state, stage="technical", evaluation=wrong,
                   heard=_heard(challenge=CHALLENGE))
    assert again.action != "challenge"


def test_off_topic_is_steered_back_once_and_a_denial_gets_the_hypothetical_version():
    plan = _plan()
    off = _ev(0.0, flags=["off_topic"], substantive=False, any_substance=False)
    steer = decide(plan=plan, state=_technical_state(), stage="technical", evaluation=off)
    assert steer.action == "steer" and steer.state["index"] == 1
    # still off topic after being steered back: the interview moves on (the question is not asked a third time)
    assert decide(plan=plan, state=steer.state, stage="technical", evaluation=off).action in ("next_question",
                                                                                               "next_stage")
    index = next(i for i, item in enumerate(plan["items"]) if item["stage"] == "behavioral")
    hypothetical = Offer("denial", "如果团队里有人坚持一个你不认同的方案，你会怎么做？")
    denial = decide(plan=plan, state={**initial_state(), "index": index}, stage="behavioral",
                    evaluation=_ev(1.0), heard=_heard(simpler=hypothetical, denial=True))
    assert denial.action == "simpler" and denial.offer is hypothetical


def test_strong_answer_advances_and_nonsense_after_an_answer_moves_on():
    plan = _plan()
    state = {**initial_state(), "index": 1}
    assert decide(plan=plan, state=state, stage="technical", evaluation=STRONG).action == "next_question"
    after_answer = _ev(0.0, flags=["gibberish"], substantive=False, any_substance=True)
    assert decide(plan=plan, state=state, stage="technical", evaluation=after_answer).action == "next_question"


def test_candidate_questions_are_answered_then_wrap_up():
    plan = _plan()
    index = next(i for i, item in enumerate(plan["items"]) if item["stage"] == "candidate_questions")
    state = {**initial_state(), "index": index}
    answers = []
    for n in range(MAX_CANDIDATE_QUESTIONS):
        decision = decide(plan=plan, state=state, stage="candidate_questions", evaluation=None, candidate_asked=True,
                          candidate_answer=f"回答{n}", topic="team")
        answers.append(decision)
        state = decision.state
    assert [d.action for d in answers[:-1]] == ["answer_candidate"] * (MAX_CANDIDATE_QUESTIONS - 1)
    assert answers[0].candidate_answer == "回答0" and answers[0].state["cq_used"] == {"team": 1}
    assert answers[-1].stage == "wrap_up" and answers[-1].answers_candidate
    done = decide(plan=plan, state={**initial_state(), "index": index}, stage="candidate_questions",
                  evaluation=None, candidate_asked=False)
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
