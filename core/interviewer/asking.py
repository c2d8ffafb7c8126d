"""反问: the candidate's own questions. Is a message a question, which topic it is about, the interviewer's answer
from the field's role profile (data/role_profiles), and feedback on the quality of the candidate's questions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.interviewer import text as tx
from core.interviewer.judge import is_empty, strip_injection

_QUESTION_WORDS = re.compile(
    r"[?？]|吗|什么|怎么|怎样|如何|哪些|哪个|哪里|多少|多大|多久|多长|几个|几位|是否|有没有|能不能|可不可以|会不会|请问"
    r"|想了解|想问|介绍一下|说说|讲讲"
    r"|\b(what|how|when|which|where|who|why|could|can|is there|are there|do you|does the|would|tell me)\b",
    re.IGNORECASE,
)
_NO_MORE = re.compile(
    r"^(没有了?|没了|暂时没有|暂时没有了|没有问题了?|没什么问题了?|没有其他问题了?|就这些|好的|谢谢|没有，谢谢|no|nope|"
    r"nothing|none|that'?s all|no more questions|no questions|no,? thanks?( you)?)"
    r"[。.!！,，\s]*(谢谢|thanks?( you)?)?[。.!！]*$",
    re.IGNORECASE,
)


def asks_a_question(text: str) -> bool:
    """Whether the candidate's message (in the 反问 stage) is a real question to the interviewer."""
    stripped = strip_injection(text).strip()
    if not stripped or is_empty(stripped) or _NO_MORE.match(stripped):
        return False
    return _QUESTION_WORDS.search(stripped) is not None


def topic_of(text: str, language: str) -> str:
    """The topic a candidate's question is about (team, tech_stack, growth ...), 'other' when none fits."""
    from core.interviewer.content import load_topics

    toks = tx.tokens(text)
    index: dict[str, list[int]] = {}
    for i, t in enumerate(toks):
        index.setdefault(t.key, []).append(i)
    best, best_hits = "other", 0
    for topic, spec in load_topics(language).topics.items():
        hits = sum(1 for cue in spec.cues if tx.find_term(toks, tx.compile_term(cue), index=index) is not None)
        if hits > best_hits:
            best, best_hits = topic, hits
    return best


def interviewer_answer(text: str, *, language: str, field_key: str, used: Mapping[str, int]) -> tuple[str, str]:
    """(topic, the interviewer's answer): a profile answer for the topic, a different one for each repeat."""
    from core.interviewer.content import load_profile

    topic = topic_of(text, language)
    answers = load_profile(field_key, language).answers.get(topic) or load_profile(field_key, language).answers["other"]
    return topic, answers[int(used.get(topic, 0)) % len(answers)]


# Feedback on the questions a candidate asked in 反问.
@dataclass
class QuestionsFeedback:
    asked: int
    topics: list[str]
    lines: list[str]


def feedback(questions: Sequence[str], language: str) -> QuestionsFeedback:
    """What the candidate's questions showed: good topics, questions best kept for later, or none at all."""
    from core.interviewer.content import load_topics

    zh = language == "zh-CN"
    topics = [topic_of(q, language) for q in questions]
    specs = load_topics(language).topics
    lines: list[str] = []
    if not questions:
        lines.append("反问环节没有提问。准备一两个关于团队、业务挑战或成长的问题，能体现你对岗位的兴趣。" if zh else
                     "You asked no questions. One or two questions about the team, its challenges or growth show "
                     "real interest in the role.")
        return QuestionsFeedback(0, [], lines)
    for topic in dict.fromkeys(topics):
        spec = specs.get(topic)
        if spec is not None:
            lines.append(spec.note)
    if all(specs[t].quality == "early" for t in topics if t in specs) and any(t in specs for t in topics):
        lines.append("只问了薪资或工作时间。这些可以留到 HR 面，技术面试官更希望听到你对团队和工作本身的好奇。"
                     if zh else
                     "You only asked about pay or hours. Keep those for HR; a technical interviewer hopes to hear "
                     "curiosity about the team and the work.")
    elif all(t == "other" for t in topics):
        lines.append("问题比较泛。可以更具体些，比如团队现在最大的挑战、新人前三个月要做什么。" if zh else
                     "Your questions were general. Make them concrete: the team's biggest challenge now, what a new "
                     "hire does in the first three months.")
    return QuestionsFeedback(len(questions), topics, lines)
