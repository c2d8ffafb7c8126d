"""Whole interviews through the turn service: the interviewer picks up what the candidate said, challenges a wrong
claim, answers 反问 questions from the role profile, and reports from the same decisions it made during the turns."""

from __future__ import annotations

import re

import pytest

from core.config import load_settings
from core.interviewer import turns
from core.interviewer.content import load_profile
from core.interviewer.simulate import Prompt, run_persona, strong_answer

BACKEND = {"candidate_name": "王五", "target_position": "Java后端开发工程师", "field": "后端开发", "level": "mid",
           "language": "zh-CN"}
NUMBER = "我负责订单服务的性能优化，通过加缓存和改异步，把下单接口的 p99 从 800 毫秒降到了 120 毫秒，大促当天零故障。"


@pytest.fixture(scope="module")
def settings():
    return load_settings({"DEMO_MODE": "true"})


def _run(engine, settings, answer, info=BACKEND):
    return run_persona(answer, engine=engine, settings=settings, owner="listener", info=info)


def _after(result, answer_text: str) -> str:
    """The interviewer's message right after the candidate said `answer_text` (first time)."""
    dialogue = result.dialogue
    index = next(i for i, (role, _, content) in enumerate(dialogue) if role == "user" and content == answer_text)
    return dialogue[index + 1][2]


def _explained(p: Prompt) -> str:
    return "".join(point["model"] for point in p.item.get("key_points") or [])


def test_a_number_the_candidate_gave_is_picked_up(sqlite_engine, settings):
    said: dict[str, str] = {}

    def answer(p: Prompt) -> str:
        if p.stage == "project" and p.on_item == 0 and not said:
            said["answer"] = _explained(p) + NUMBER
            return said["answer"]
        return strong_answer(p)

    result = _run(sqlite_engine, settings, answer)
    reply = _after(result, said["answer"])
    # it asks about a figure the candidate gave ("800 毫秒降到了 120 毫秒", or one in the rest of the answer)
    figures = re.findall(r"\d+(?:\.\d+)?", reply)
    assert figures and all(f in said["answer"] for f in figures) and "？" in reply, reply
    assert result.problems == []


def test_a_wrong_claim_is_challenged_politely_not_passed(sqlite_engine, settings):
    seen: dict[str, str] = {}

    def answer(p: Prompt) -> str:
        misconceptions = p.item.get("misconceptions") or []
        if p.stage == "technical" and p.on_item == 0 and misconceptions and "wrong" not in seen:
            cue = misconceptions[0]["cues"][0].replace("&", "，")
            seen["wrong"] = f"我的理解是{cue}，这个在我们项目里一直是这么做的，也没出过什么问题。"
            seen["challenge"] = misconceptions[0]["challenge"]
            return seen["wrong"]
        return strong_answer(p)

    result = _run(sqlite_engine, settings, answer)
    assert "wrong" in seen, "no planned technical question carries a misconception"
    reply = _after(result, seen["wrong"])
    assert seen["challenge"].rstrip("？?") in reply, reply
    report = result.report
    entry = next(e for e in report.per_question if seen["wrong"] in e["answer"])
    assert entry["misconception"] and entry["score"] <= 1.5
    assert entry["misconception"]["correction"] in entry["feedback"]


def test_candidate_questions_get_different_answers_from_the_role_profile(sqlite_engine, settings):
    asked = ["团队现在大概有多少人，怎么分工的？", "你们主要用什么技术栈？", "没有了，谢谢。"]

    def answer(p: Prompt) -> str:
        if p.stage == "candidate_questions":
            return asked[min(p.on_item, 2)]
        return strong_answer(p)

    result = _run(sqlite_engine, settings, answer)
    first, second = _after(result, asked[0]), _after(result, asked[1])
    profile = load_profile("backend", "zh-CN")
    assert any(text in first for text in profile.answers["team"]), first
    assert any(text in second for text in profile.answers["tech_stack"]), second
    assert first != second
    assert "反问环节问了有价值的问题" in result.report.strengths  # the report judges the questions asked


def test_a_report_never_lists_a_quoted_point_as_missed(sqlite_engine, settings):
    result = _run(sqlite_engine, settings, strong_answer)
    for entry in result.report.per_question:
        quoted = {c["point"] for c in entry["covered"]}
        assert not quoted & set(entry["missed"]), entry
        assert all(q in entry["answer"] for c in entry["covered"] for q in c["evidence"])


def test_an_interview_ended_early_is_scored_on_the_answered_questions(sqlite_engine, settings):
    start = turns.start_interview(owner="early", info=BACKEND, engine=sqlite_engine, settings=settings)
    first = start.session.plan["items"][0]
    intro = strong_answer(Prompt(first["stage"], first, "welcome", "zh-CN", 0, 0))
    for _ in turns.run_turn(owner="early", session_id=start.session.id, content=intro, client_message_id="a1",
                            engine=sqlite_engine, settings=settings):
        pass
    turns.end_interview(owner="early", session_id=start.session.id, engine=sqlite_engine, settings=settings)
    report = turns.get_report(owner="early", session_id=start.session.id, engine=sqlite_engine)
    assert [e["stage"] for e in report.per_question] == ["self_intro"]  # unanswered questions are not scored 0
    assert report.overall >= 40 and "1 道题" in report.summary
