"""Interview stages, the per-session plan, and the state machine that decides every transition.

The server decides; a model only phrases what was decided. `decide` is a pure function of the plan, the stored state
and the (validated) evaluation of the newest answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.interviewer.judge import AnswerEvaluation, latin_words
from core.interviewer.listen import Heard, Offer
from core.models import INTERVIEW_STAGES

PLAN_SHAPE = {"self_intro": 1, "technical": 4, "project": 2, "behavioral": 2, "candidate_questions": 1, "wrap_up": 1}
MAX_FOLLOW_UPS = {"self_intro": 1, "technical": 2, "project": 2, "behavioral": 2}
MAX_REASKS = 1  # an empty or nonsense answer is asked again once, then the interview moves on (score 0)
MAX_CANDIDATE_QUESTIONS = 3  # questions the candidate may ask in 反问 before the wrap-up
ADJACENT_LEVEL = {"junior": ("mid",), "mid": ("junior", "senior"), "senior": ("mid",)}
PLAN_VERSION = 1


def stage_progress(stage: str) -> tuple[int, int]:
    """(1..7, 7) for a progress indicator; completed counts as the last step."""
    total = len(INTERVIEW_STAGES)
    if stage not in INTERVIEW_STAGES:
        return total, total
    return INTERVIEW_STAGES.index(stage) + 1, total


def session_rng(session_id: str, *salt: object) -> random.Random:
    """A random source that is the same every time for this session (and salt)."""
    return random.Random(":".join([session_id, *map(str, salt)]))


# -- plan ----------------------------------------------------------------------------------------------------------

# Used only when a bank lacks a stage entirely, so an interview can always run to the end.
BUILTIN_QUESTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "self_intro": {
        "zh-CN": {"question": "请先简单做个自我介绍，重点讲讲你的教育背景、工作经历和擅长的方向。",
                  "key_points": [{"point": "教育背景", "synonyms": ["毕业", "大学", "专业", "学历"]},
                                 {"point": "工作经历", "synonyms": ["工作", "公司", "实习", "年经验"]},
                                 {"point": "擅长方向", "synonyms": ["擅长", "熟悉", "技术栈", "主要做"]}]},
        "en": {"question": "Please briefly introduce yourself: your education, work experience and strengths.",
               "key_points": [{"point": "education", "synonyms": ["degree", "university", "graduated", "major"]},
                              {"point": "work experience", "synonyms": ["worked", "company", "internship", "years"]},
                              {"point": "strengths", "synonyms": ["good at", "skilled", "specialize", "stack"]}]},
    },
    "technical": {
        "zh-CN": {"question": "请讲讲你最熟悉的一项技术，它解决了什么问题，你在使用中踩过哪些坑。",
                  "key_points": [{"point": "解决的问题", "synonyms": ["解决", "场景", "痛点"]},
                                 {"point": "原理", "synonyms": ["原理", "机制", "底层"]},
                                 {"point": "实践经验", "synonyms": ["踩坑", "问题", "优化", "排查"]}]},
        "en": {"question": "Tell me about the technology you know best: what problem it solves and what pitfalls "
                           "you have hit using it.",
               "key_points": [{"point": "problem solved", "synonyms": ["solves", "use case", "pain point"]},
                              {"point": "how it works", "synonyms": ["internals", "mechanism", "under the hood"]},
                              {"point": "practical experience", "synonyms": ["pitfall", "bug", "optimized", "debug"]}]},
    },
    "project": {
        "zh-CN": {"question": "请介绍一个你最有代表性的项目，你在其中负责什么，遇到的最大挑战是什么。",
                  "key_points": [{"point": "项目背景", "synonyms": ["背景", "目标", "业务"]},
                                 {"point": "个人职责", "synonyms": ["负责", "主导", "我做"]},
                                 {"point": "挑战与解决", "synonyms": ["挑战", "难点", "解决"]},
                                 {"point": "结果", "synonyms": ["结果", "提升", "上线", "效果"]}]},
        "en": {"question": "Describe your most representative project: your role and the biggest challenge.",
               "key_points": [{"point": "context", "synonyms": ["background", "goal", "business"]},
                              {"point": "your role", "synonyms": ["responsible", "i led", "i built", "owned"]},
                              {"point": "challenge and solution", "synonyms": ["challenge", "difficult", "solved"]},
                              {"point": "outcome", "synonyms": ["result", "improved", "launched", "impact"]}]},
    },
    "behavioral": {
        "zh-CN": {"question": "讲一次你和同事意见不一致的经历，你是怎么处理的。",
                  "key_points": [{"point": "情境", "synonyms": ["当时", "背景", "有一次"]},
                                 {"point": "沟通方式", "synonyms": ["沟通", "讨论", "倾听"]},
                                 {"point": "结果与反思", "synonyms": ["结果", "最终", "反思", "收获"]}]},
        "en": {"question": "Tell me about a time you disagreed with a colleague and how you handled it.",
               "key_points": [{"point": "situation", "synonyms": ["at the time", "once", "context"]},
                              {"point": "communication", "synonyms": ["talked", "discussed", "listened"]},
                              {"point": "result and reflection", "synonyms": ["result", "in the end", "learned"]}]},
    },
    "candidate_questions": {
        "zh-CN": {"question": "我这边的问题就到这里，你有什么想问我的吗？"},
        "en": {"question": "That's all from me. Do you have any questions for me?"},
    },
    "wrap_up": {
        "zh-CN": {"question": "最后，关于今天的面试，你还有什么想补充的吗？"},
        "en": {"question": "Finally, is there anything you'd like to add about today's interview?"},
    },
}


def builtin_item(stage: str, language: str, n: int = 1) -> dict:
    spec = BUILTIN_QUESTIONS[stage].get(language) or BUILTIN_QUESTIONS[stage]["zh-CN"]
    return {"id": f"builtin-{stage}-{language}-{n}", "stage": stage, "level": "any", "question": spec["question"],
            "key_points": spec.get("key_points", []), "tags": [], "follow_ups": []}


def question_item(question: Any) -> dict:
    """A bank Question as the plain dict the plan stores (the plan stays readable if the bank changes)."""
    data = question.model_dump(mode="json") if hasattr(question, "model_dump") else dict(question)
    return {
        "id": str(data["id"]), "stage": data["stage"], "level": data.get("level", "any"),
        "question": data["question"],
        "key_points": [{"point": k.get("point", ""), "synonyms": list(k.get("synonyms") or []),
                        "ask": k.get("ask"), "model": k.get("model")}
                       for k in data.get("key_points") or []],
        "tags": list(data.get("tags") or []), "follow_ups": list(data.get("follow_ups") or []),
        "simpler": data.get("simpler"),
        "misconceptions": [dict(m) for m in data.get("misconceptions") or []],
    }


def with_content(item: dict, banks: Any) -> dict:
    """A plan item stored before questions carried asks, model sentences and misconceptions, completed from the
    bank by its id (ids keep their meaning); a current item or an unknown id is returned as it is."""
    if "simpler" in item or not item.get("id"):
        return item
    try:
        current = question_item(banks.get(item["id"]))
    except KeyError:
        return item
    return {**current, **{k: v for k, v in item.items() if k in ("id", "stage", "level", "question")}}


def jd_keywords(job_description: str | None) -> set[str]:
    """Latin words (React, k8s, Python) and Chinese runs of the job description, lower-cased."""
    text = (job_description or "").lower()
    words = {w.lower() for w in latin_words(text) if len(w) >= 2}
    words.update(run for run in re.findall(r"[\u4e00-\u9fff]{2,8}", text))
    return words


def jd_match(item: dict, jd_text: str, keywords: set[str]) -> int:
    """How strongly a question relates to the job description: its tags found in the JD, JD words in its text."""
    if not jd_text:
        return 0
    hits = sum(1 for tag in item["tags"] if tag and tag.lower() in jd_text)
    question = item["question"].lower()
    hits += sum(1 for word in keywords if word.isascii() and len(word) >= 2 and word in question)
    return hits


def _pick(pool: Sequence[dict], n: int, rng: random.Random, taken: set[str], rank=None) -> list[dict]:
    """n questions from pool, not already taken; best `rank` first, random order among equals."""
    candidates = [q for q in pool if q["id"] not in taken]
    keyed = [((-(rank(q) if rank else 0)), rng.random(), q) for q in candidates]
    keyed.sort(key=lambda t: (t[0], t[1]))
    chosen = [q for _, _, q in keyed[:n]]
    taken.update(q["id"] for q in chosen)
    return chosen


def build_plan(*, banks: Any, session_id: str, field: str, target_position: str, level: str, language: str,
               job_description: str | None = None, skills: Sequence[str] = ()) -> dict:
    """The interview's questions in order, deterministic for the session; no question appears twice. Technical
    questions matching the job description, or the skills a resume claims, come first."""
    rng = session_rng(session_id, "plan")
    key = _field_key(banks, field, target_position)
    wanted = "\n".join(filter(None, [job_description, ", ".join(skills)]))
    jd_text = wanted.lower()
    keywords = jd_keywords(wanted)
    taken: set[str] = set()

    def bank(stage: str, fkey: str, lvl: str | None) -> tuple[dict, ...]:
        return _bank_items(banks, fkey, language, stage, lvl)

    rank = (lambda q: jd_match(q, jd_text, keywords)) if jd_text else None
    items: list[dict] = []
    for stage, count in PLAN_SHAPE.items():
        if stage == "technical":
            chosen = _technical(bank, key, level, count, rng, taken, rank)
        else:  # the field's own questions of the stage plus the general bank's, the session's level first
            chosen = _pick(bank(stage, key, level), count, rng, taken)
            chosen += _pick(bank(stage, key, None), count - len(chosen), rng, taken)
        if len(chosen) < count and builtin_item(stage, language)["id"] not in taken:
            chosen.append(builtin_item(stage, language))
            taken.add(chosen[-1]["id"])
        items.extend(chosen)
    return {"version": PLAN_VERSION, "field_key": key, "language": language, "level": level,
            "items": [question_item(q) for q in items],  # copies: the cached items are shared by every plan
            "field_terms": list(_field_terms(banks, key, language))}


# What a plan takes from the banks does not depend on the session: it is read once per bank, field, stage, level
# and language (the banks are immutable and cached themselves), so starting an interview only draws from it.
@lru_cache(maxsize=4096)
def _field_key(banks: Any, field: str, target_position: str) -> str:
    return banks.field_key(field, target_position)


@lru_cache(maxsize=1024)
def _bank_items(banks: Any, key: str, language: str, stage: str, level: str | None) -> tuple[dict, ...]:
    try:
        return tuple(question_item(q) for q in banks.questions(key, language, stage, level=level))
    except (KeyError, LookupError, ValueError):
        return ()


@lru_cache(maxsize=256)
def _field_terms(banks: Any, key: str, language: str) -> tuple[str, ...]:
    """The field's technical tags, sorted (at most 200): words a reply may use without being off-topic."""
    return tuple(sorted({tag for q in _bank_items(banks, key, language, "technical", None)
                         for tag in q["tags"] if tag})[:200])


def _technical(bank, key: str, level: str, count: int, rng: random.Random, taken: set[str], rank) -> list[dict]:
    """Mostly the session's level (and "any"), one from an adjacent level; JD matches first."""
    own = [q for q in bank("technical", key, level) if q["level"] in (level, "any")]
    adjacent_levels = ADJACENT_LEVEL.get(level, ())
    adjacent_level = rng.choice(adjacent_levels) if adjacent_levels else None
    adjacent = []
    if adjacent_level:
        adjacent = [q for q in bank("technical", key, adjacent_level) if q["level"] == adjacent_level]
    chosen = _pick(own, count - 1 if adjacent else count, rng, taken, rank)
    chosen += _pick(adjacent, count - len(chosen), rng, taken, rank)
    if len(chosen) < count:  # a small bank: fill from anything left in the field, then the general bank
        chosen += _pick(bank("technical", key, None), count - len(chosen), rng, taken, rank)
    if len(chosen) < count and key != "general":
        chosen += _pick(bank("technical", "general", None), count - len(chosen), rng, taken, rank)
    return chosen


def plan_items(plan: dict) -> list[dict]:
    return list(plan.get("items") or [])


def initial_state() -> dict:
    return {"index": 0, "follow_ups": 0, "reasks": 0, "cq_turns": 0, "used_follow_ups": [], "steered": False,
            "challenged": False, "simpler_used": False, "deep": 0, "probed": [], "picked": [], "cq_used": {}}


# Reset when the interview moves to the next planned question (probes, picked-up words and 反问 answers are kept for
# the whole interview).
PER_QUESTION = {"follow_ups": 0, "reasks": 0, "used_follow_ups": [], "steered": False, "challenged": False,
                "simpler_used": False, "deep": 0}


# -- decisions -----------------------------------------------------------------------------------------------------


# What the server decided after an answer; the reply (template or model) only phrases this.
@dataclass
class Decision:
    action: str  # follow_up | simpler | challenge | steer | reask | next_question | next_stage | answer_candidate | end
    kind: str  # the reply's Message.kind: follow_up | reask | question | answer | closing
    stage: str  # the interview stage after this turn
    item: dict | None  # the plan question the reply asks (or re-asks / follows up on); None when ending
    state: dict = field(default_factory=dict)
    offer: Offer | None = None  # what a follow-up, rephrase or challenge asks and what of the answer it picks up
    answers_candidate: bool = False  # the reply first answers the candidate's own question (反问)
    candidate_answer: str = ""  # that answer, from the role profile
    stage_changed: bool = False

    @property
    def completes(self) -> bool:
        return self.stage == "completed"

    @property
    def follow_up(self) -> str | None:
        return self.offer.question if self.offer else None


def current_item(plan: dict, state: dict) -> dict | None:
    items = plan_items(plan)
    index = int(state.get("index", 0))
    return items[index] if 0 <= index < len(items) else None


def decide(*, plan: dict, state: dict, stage: str, evaluation: AnswerEvaluation | None, heard: Heard | None = None,
           candidate_asked: bool = False, candidate_answer: str = "", topic: str = "") -> Decision:
    """The next step after the candidate's message, from the plan, the state, the evaluation and what the answer
    offers to follow up on (never a model).

    Scored stages: nonsense is asked again once, an off-topic answer is steered back once, an asserted
    misconception is challenged once; then a weak answer gets at most one simpler rephrase, a strong one a deeper
    follow-up, a middling one a follow-up on what it said (a number, a named technology) or on the most important
    point it missed; at most MAX_FOLLOW_UPS per question, then the next question.
    """
    state = {**initial_state(), **state}
    item = current_item(plan, state)
    if item is None or stage in ("wrap_up", "completed"):
        return Decision("end", "closing", "completed", None, {**state, "index": len(plan_items(plan))})
    if stage == "candidate_questions":
        return _decide_candidate_questions(plan, state, item, candidate_asked, candidate_answer, topic)
    ev = evaluation or AnswerEvaluation(score=0.0, flags=["empty"], substantive=False, any_substance=False)
    heard = heard or Heard()
    if not ev.substantive:
        if "off_topic" in ev.flags and not state["steered"]:
            return _ask(stage, item, state, "steer", None, steered=True)
        if not ev.any_substance and state["reasks"] < MAX_REASKS and not state["steered"]:  # one repeat at most
            return Decision("reask", "reask", stage, item, {**state, "reasks": state["reasks"] + 1})
        return advance(plan, state, stage)
    if heard.challenge is not None and not state["challenged"]:
        return _ask(stage, item, state, "challenge", heard.challenge, challenged=True, count=True)
    if state["follow_ups"] >= MAX_FOLLOW_UPS.get(stage, 0):
        return advance(plan, state, stage)
    if heard.denial and heard.simpler is not None and not state["simpler_used"]:
        return _ask(stage, item, state, "simpler", heard.simpler, simpler_used=True, count=True)
    if ev.weak:
        if heard.simpler is not None and not state["simpler_used"] and not state["follow_ups"]:
            return _ask(stage, item, state, "simpler", heard.simpler, simpler_used=True, count=True)
        return advance(plan, state, stage)  # a weak answer gets one simpler rephrase at most, then we move on
    offer = _strong_offer(stage, heard) if ev.strong else _middle_offer(stage, heard, ev)
    if offer is None:
        return advance(plan, state, stage)
    return _follow_up(stage, item, state, offer)


def _strong_offer(stage: str, heard: Heard) -> Offer | None:
    """A deeper question: the next level's probe on what they named, else the bank's harder follow-up."""
    if stage == "technical":
        return heard.deep_probe or heard.deep
    return heard.number or heard.deep_probe or heard.deep


def _middle_offer(stage: str, heard: Heard, ev: AnswerEvaluation) -> Offer | None:
    """Something the answer said (a number, a named technology), or the most important point it missed: on a
    technical question that leaves much out, the missed point comes first."""
    if stage == "technical":
        if ev.coverage < 0.7:
            return heard.missed or heard.probe or heard.number
        return heard.probe or heard.missed or heard.number
    return heard.number or heard.missed or heard.probe


def _follow_up(stage: str, item: dict, state: dict, offer: Offer) -> Decision:
    changes: dict[str, Any] = {"deep": state["deep"] + (offer.reason == "deep")}
    if offer.said:
        changes["picked"] = [*state["picked"], offer.said]  # never picked up twice in one interview
    if offer.probe_term:
        changes["probed"] = [*state["probed"], offer.probe_term]
    if offer.reason == "deep" and not offer.probe_term:
        changes["used_follow_ups"] = [*state["used_follow_ups"], offer.question]
    return _ask(stage, item, state, "follow_up", offer, count=True, **changes)


def _ask(stage: str, item: dict, state: dict, action: str, offer: Offer | None, *, count: bool = False,
         **changes: Any) -> Decision:
    new_state = {**state, **changes, "follow_ups": state["follow_ups"] + (1 if count else 0)}
    kind = "reask" if action == "steer" else "follow_up"
    return Decision(action, kind, stage, item, new_state, offer=offer)


def _decide_candidate_questions(plan: dict, state: dict, item: dict, candidate_asked: bool, answer: str,
                                topic: str) -> Decision:
    if candidate_asked:
        turns = state["cq_turns"] + 1
        used = {**state["cq_used"], topic: int(state["cq_used"].get(topic, 0)) + 1} if topic else state["cq_used"]
        new_state = {**state, "cq_turns": turns, "cq_used": used}
        if turns < MAX_CANDIDATE_QUESTIONS:
            return Decision("answer_candidate", "answer", "candidate_questions", item, new_state,
                            answers_candidate=True, candidate_answer=answer)
        decision = advance(plan, new_state, "candidate_questions")
        decision.answers_candidate, decision.candidate_answer = True, answer
        return decision
    return advance(plan, state, "candidate_questions")


def advance(plan: dict, state: dict, stage: str) -> Decision:
    """Move to the next planned question (a new stage when its stage differs), or end after the last."""
    items = plan_items(plan)
    index = int(state.get("index", 0)) + 1
    fresh = {**state, **PER_QUESTION, "index": index}
    if index >= len(items):
        return Decision("end", "closing", "completed", None, fresh)
    item = items[index]
    changed = item["stage"] != stage
    return Decision("next_stage" if changed else "next_question", "question", item["stage"], item, fresh,
                    stage_changed=changed)


def end_early_decision(plan: dict, state: dict) -> Decision:
    return Decision("end", "closing", "completed", None, {**state, "ended_early": True})
