"""The offline interviewer's phrasing: message templates (zh-CN and English) and how a server decision becomes the
interviewer's message. The judging lives in core.interviewer.judge, the listening in core.interviewer.listen.

Deterministic: template choices come from a `random.Random` seeded by the caller (session id + turn), so a session
replays identically, and no message repeats an earlier one of the same interview.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from core.interviewer.judge import normalise

QUESTION_MARKS = ("？", "?")


def one_question(text: str) -> str:
    """Keep only the last question mark, so one message never asks two questions in a row."""
    text = (text or "").strip()
    positions = [i for i, ch in enumerate(text) if ch in QUESTION_MARKS]
    if len(positions) <= 1:
        return text
    chars = list(text)
    for i in positions[:-1]:
        chars[i] = "，" if chars[i] == "？" else ","
    return "".join(chars)


def question_marks(text: str) -> int:
    return sum(text.count(mark) for mark in QUESTION_MARKS)


# -- message templates ---------------------------------------------------------------------------------------------
# Rules the templates keep: no feedback or hints, never a key point, no question mark outside the question slot.

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "welcome": {
        "zh-CN": (
            "你好{name}，欢迎参加今天的{position}模拟面试，我是你的面试官。面试分为自我介绍、专业技术、项目经历、"
            "行为情景和反问几个环节，大约需要二十分钟。我们开始吧。{question}",
            "{name}你好，很高兴和你进行这次{position}岗位的模拟面试。接下来我们会依次聊聊你的背景、专业技术、项目经历"
            "和一些情景问题，最后留时间给你提问。第一个问题：{question}",
            "欢迎你{name}！今天由我来担任{position}岗位的面试官。整个面试包括自我介绍、技术问题、项目经历、行为情景和"
            "反问环节，放轻松，按自己的节奏回答就好。我们开始吧。{question}",
        ),
        "en": (
            "Hello{name}, welcome to this mock interview for the {position} role. I'll be your interviewer today. "
            "We'll go through a self-introduction, technical questions, your projects, some behavioural questions, "
            "and then your questions for me. Let's begin. {question}",
            "Hi{name}, thanks for joining this {position} mock interview. We'll cover your background, technical "
            "skills, projects and a few situational questions, and leave time for your questions at the end. "
            "First question: {question}",
            "Welcome{name}! I'm your interviewer for the {position} position today. The interview has five parts: "
            "introduction, technical, projects, behavioural, and your questions. Take your time. {question}",
        ),
    },
    "stage.technical": {
        "zh-CN": ("好的，谢谢你的介绍。接下来我们进入专业技术环节。", "了解了。下面我们聊一些专业技术方面的问题。",
                  "好的。我们进入技术问题部分。", "谢谢。接下来看几个专业技术问题。"),
        "en": ("Thank you for the introduction. Let's move on to some technical questions.",
               "Got it. Now let's talk about the technical side.", "Thanks. Next, a few technical questions.",
               "Alright, let's move to the technical part of the interview."),
    },
    "stage.project": {
        "zh-CN": ("好的，技术问题就先到这里。接下来聊聊你的项目经历。", "了解。下面我们进入项目经历环节。",
                  "好的。接下来我想了解一下你做过的项目。", "谢谢。我们换到项目经历部分。"),
        "en": ("Thanks, that's it for the technical questions. Let's talk about your projects.",
               "Alright. Now I'd like to hear about your project experience.",
               "Okay. Let's move on to the projects you've worked on.", "Thank you. Next, your project experience."),
    },
    "stage.behavioral": {
        "zh-CN": ("好的。接下来是几个行为情景问题。", "了解。下面我们聊一些工作中的情景问题。",
                  "好的，项目部分先到这里。接下来进入行为情景环节。", "谢谢。我们进入行为情景部分。"),
        "en": ("Okay. Next, a few behavioural questions.", "Thanks. Let's move on to some situational questions.",
               "Alright, that's it for projects. Now the behavioural part.",
               "Got it. Next I'd like to ask about how you work with others."),
    },
    "stage.candidate_questions": {
        "zh-CN": ("好的，谢谢你的回答。", "好的，感谢你的分享。", "了解，谢谢。", "好的。"),
        "en": ("Okay, thank you for your answers.", "Thanks for sharing that.", "Got it, thank you.", "Alright."),
    },
    "stage.wrap_up": {
        "zh-CN": ("好的。", "了解。", "好的，谢谢。", "明白了。"),
        "en": ("Alright.", "Got it.", "Okay, thank you.", "Understood."),
    },
    "next": {
        "zh-CN": ("好的，我们看下一个问题。", "明白。下一个问题。", "好的，我们换个方向。", "了解。接下来这个问题。",
                  "好的，继续。", "嗯，好的。我们聊下一个话题。", "好，下面这个问题。", "明白了。我们继续。"),
        "en": ("Okay, let's go to the next question.", "Got it. Next question.", "Alright, a different topic now.",
               "Understood. Here's the next one.", "Okay, let's continue.", "Thanks. Moving on.",
               "Alright, next.", "Okay. Let's look at another topic."),
    },
    "reask": {
        "zh-CN": ("抱歉，我没能理解你的回答。我们再试一次。{question}",
                  "这个问题我想听听你的具体想法，请再回答一下。{question}",
                  "没关系，可以慢慢想，用自己的话说说就好。{question}", "我们回到这个问题上来。{question}",
                  "能请你再认真回答一下吗，说说你自己的理解就好。问题是：{question}"),
        "en": ("Sorry, I couldn't follow that answer. Let's try again. {question}",
               "I'd like to hear your own thoughts on this one. {question}",
               "No problem, take a moment and answer in your own words. {question}",
               "Let's come back to this question. {question}",
               "Please answer this one in your own words. The question was: {question}"),
    },
    "deep_prefix": {
        "zh-CN": ("我再往深了问一点：", "顺着这个往下聊：", "那我们再深入一层：", "接着这个问题，", "好，再追问一个：",
                  "嗯，继续往下问："),
        "en": ("Let me take that a step further. ", "Going one level deeper: ", "Building on that, ",
               "Let's dig deeper. ", "A harder one on the same topic: ", "Okay, pushing a bit further: "),
    },
    "deep_lead": {
        "zh-CN": ("你刚才提到{said}，我再往深了问一点：", "你说到了{said}，顺着这个往下聊：",
                  "关于你提到的{said}，再深入一层：", "你提到了{said}，那我接着问："),
        "en": ("You mentioned {said}. Let me take that a step further. ", "On {said}, which you brought up: ",
               "You talked about {said}. Going one level deeper: ", "Since you mentioned {said}, "),
    },
    "number": {
        "zh-CN": ("你提到{said}，这个数是怎么测出来的？", "你说{said}，当时是怎么统计和验证这个数的？",
                  "关于{said}，这个数据是和什么基线比出来的？", "你提到{said}，能讲讲这个数是怎么得出来的吗？"),
        "en": ("You mentioned {said}. How did you measure that?", "You said {said}. What was the baseline?",
               "About {said}: how did you arrive at that number?",
               "You mentioned {said}. How did you verify that figure?"),
    },
    "probe_lead": {
        "zh-CN": ("你提到了{said}，", "你刚才说到{said}，", "我注意到你提到了{said}，", "说到{said}，"),
        "en": ("You mentioned {said}. ", "You brought up {said}. ", "On {said}, which you mentioned: ",
               "Since you mentioned {said}, "),
    },
    "missed_lead": {
        "zh-CN": ("你刚才提到{said}。", "嗯，你讲到了{said}。", "好，你说到了{said}。"),
        "en": ("You mentioned {said}. ", "Okay, you talked about {said}. ", "Right, {said}. "),
    },
    "missed_prefix": {
        "zh-CN": ("我再追问一下：", "我想再了解一点：", "另外，", "那我换个角度问：", "嗯，", "好的，"),
        "en": ("Let me follow up on that. ", "One more thing: ", "Let me ask about another angle. ",
               "Okay. ", "Alright, "),
    },
    "simpler": {
        "zh-CN": ("没关系，我换个问法：{question}", "我们换个更具体的角度：{question}", "那我问得简单一点：{question}",
                  "不着急，我们换个方式聊：{question}"),
        "en": ("No problem, let me put it another way. {question}", "Let's make it more concrete. {question}",
               "Let me ask that more simply. {question}", "Take your time. Another way to look at it: {question}"),
    },
    "denial": {
        "zh-CN": ("没关系，那我们假设一个场景：{question}", "好的，那换成一个假设的情况：{question}",
                  "了解。那如果真遇到这种情况呢：{question}"),
        "en": ("That's fine, let's make it hypothetical. {question}", "Okay, then imagine this instead. {question}",
               "Understood. Suppose it did happen: {question}"),
    },
    "challenge_quoted": {
        "zh-CN": ("你刚才说“{said}”。{question}", "关于你说的“{said}”，我想再确认一下：{question}",
                  "你提到“{said}”，{question}"),
        "en": ('You said "{said}". {question}', 'About "{said}": let me push back a little. {question}',
               'You mentioned "{said}". {question}'),
    },
    "challenge": {
        "zh-CN": ("我想再确认一下你的说法：{question}", "这一点我想多问一句：{question}", "我们再推敲一下：{question}"),
        "en": ("Let me push back a little. {question}", "I'd like to test that claim. {question}",
               "Let's think about that for a second. {question}"),
    },
    "steer": {
        "zh-CN": ("我们先回到这个问题本身：{question}", "这个问题我更想听听你的思路：{question}",
                  "先聊回这道题：{question}"),
        "en": ("Let's come back to the question itself. {question}", "I'd like to hear your take on the question. "
               "{question}", "Let's return to the question. {question}"),
    },
    "cq_more": {
        "zh-CN": ("你还有其他想了解的吗？", "还有别的问题想问我吗？", "除此之外，还有其他问题吗？"),
        "en": ("Is there anything else you'd like to know?", "Do you have any other questions for me?",
               "Anything else you'd like to ask?"),
    },
    "closing": {
        "zh-CN": ("感谢你参加今天的模拟面试，面试到这里就结束了。稍后你可以查看详细的评估报告。祝你求职顺利！",
                  "好的，今天的面试就到这里，谢谢你的时间。评估报告马上就会生成，记得去看看。祝一切顺利！",
                  "非常感谢你的参与，本次模拟面试已经结束。你可以在报告页查看各环节的反馈。加油！"),
        "en": ("Thank you for taking part in this mock interview. We're done for today; your detailed report "
               "will be ready shortly. Good luck with your job search!",
               "That's the end of our interview. Thanks for your time. Your evaluation report is being prepared. "
               "All the best!",
               "Thanks a lot for your answers. This mock interview is now complete, and you can review the feedback "
               "for each part in your report. Good luck!"),
    },
    "closing_early": {
        "zh-CN": ("好的，那我们今天就先到这里。感谢你的时间，稍后可以查看已完成部分的评估报告。",
                  "没问题，本次面试提前结束。谢谢你的参与，评估报告会基于已回答的问题生成。"),
        "en": ("Sure, let's stop here for today. Thanks for your time; a report on the parts you completed will "
               "be ready shortly.",
               "No problem, we'll end the interview early. Thank you for taking part; your report will cover the "
               "questions you answered."),
    },
}


def templates(key: str, language: str) -> tuple[str, ...]:
    options = TEMPLATES[key]
    return options.get(language) or options["zh-CN"]


def shuffled(options: Sequence[str], rng: random.Random) -> list[str]:
    items = list(options)
    rng.shuffle(items)
    return items


def _combinations(orders: list[list[str]]):
    if not orders:
        yield ()
        return
    head, *rest = orders
    for first in head:
        for tail in _combinations(rest):
            yield (first, *tail)


def chunk_text(text: str, size: int = 6) -> list[str]:
    """Small pieces of a finished message, so offline replies stream like a model's would."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


# -- composing the interviewer's message ---------------------------------------------------------------------------


def _join(parts: Sequence[str], language: str) -> str:
    """Join message parts; in English a part after a comma-ended prefix starts lower-case."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if language != "zh-CN" and out:
            if out.endswith(",") and part[:1].isupper() and not re.match(r"(I\b|I'|[A-Z]{2})", part):
                part = part[0].lower() + part[1:]
            out += " " + part
        else:
            out += part
    return out


def _unique(option_lists: Sequence[Sequence[str]], language: str, rng: random.Random, used: set[str]) -> str:
    orders = [shuffled(options, rng) for options in option_lists]
    first = None
    for combo in _combinations(orders):
        text = _join(combo, language)
        first = first or text
        if normalise(text) not in used:
            return text
    return first or ""


def compose_welcome(*, language: str, candidate_name: str, position: str, question: str, rng: random.Random) -> str:
    name = (candidate_name or "").strip()
    if language != "zh-CN" and name:
        name = " " + name
    template = rng.choice(templates("welcome", language))
    return template.format(name=name, position=position, question=one_question(question))


def compose_reply(*, decision, language: str, rng: random.Random, used: set[str], ended_early: bool = False) -> str:
    """The offline interviewer's message for a server decision: one question at most, never a repeat, and a
    follow-up only ever refers to words the candidate said."""
    item = decision.item or {}
    question = one_question(item.get("question", ""))
    action, offer = decision.action, decision.offer
    if action == "end":
        return _unique([templates("closing_early" if ended_early else "closing", language)], language, rng, used)
    if action in ("reask", "steer"):
        options = [t.format(question=question) for t in templates(action, language)]
        return _unique([options], language, rng, used)
    if offer is not None and action in ("follow_up", "simpler", "challenge"):
        return _unique([follow_up_texts(action, offer, language)], language, rng, used)
    if action == "answer_candidate":
        return _unique([[decision.candidate_answer], templates("cq_more", language)], language, rng, used)
    lead = templates(f"stage.{decision.stage}", language) if decision.stage_changed else templates("next", language)
    parts = [lead, [question]]
    if decision.answers_candidate and decision.candidate_answer:
        parts = [[decision.candidate_answer], *parts]
    return _unique(parts, language, rng, used)


# A connective the candidate's phrase happens to start with ("关于因为那个渠道涨了 8%" → "关于那个渠道涨了 8%").
_LEADING_LINK = re.compile(r"^(?:(?:因为|所以|但是|不过|而且|并且|然后|其实|就是|比如|例如|后来|于是|因此)[，,\s]*)+|"
                           r"^(?:(?:so|and|but|because|then|also)\b[,\s]*)+", re.IGNORECASE)


def follow_up_texts(action: str, offer, language: str) -> list[str]:
    """Every phrasing of a follow-up, rephrase or challenge (the composer picks one not said before)."""
    body = one_question(offer.question)
    said = (offer.said or "").strip()
    said = _LEADING_LINK.sub("", said) or said
    if language != "zh-CN" and said[:1].isupper() and said[1:2].islower() and said.split()[0][1:].islower():
        said = said[0].lower() + said[1:]  # "Collisions" from a sentence start reads "collisions" mid-sentence
    if action == "challenge":
        key = "challenge_quoted" if said else "challenge"
        return [t.format(said=said, question=body) for t in templates(key, language)]
    if action == "simpler":
        return [t.format(question=body) for t in templates("denial" if offer.reason == "denial" else "simpler",
                                                            language)]
    if (language != "zh-CN" and " " in said and not re.fullmatch(r"[A-Z][\w.+#-]*( [A-Z][\w.+#-]*)*", said)
            and said.lower() != (offer.probe_term or "").strip().lower()):
        # The candidate's own words ("lose most users", "we cut first paint from 3.2 s to 1.1 s") rarely fit the
        # sentence as a noun; quoted, they read as the interviewer repeating what was said. A name stays bare.
        said = f'"{said}"'
    if offer.reason == "number":
        return [t.format(said=said) for t in templates("number", language)]
    if offer.probe_term and said:
        return [_join([t.format(said=said), body], language) for t in templates("probe_lead", language)]
    if offer.reason == "missed_point" and said:
        return [_join([t.format(said=said), body], language) for t in templates("missed_lead", language)]
    if offer.reason == "deep" and said:
        return [_join([t.format(said=said), body], language) for t in templates("deep_lead", language)]
    key = "deep_prefix" if offer.reason == "deep" else "missed_prefix"
    return [_join([prefix, body], language) for prefix in templates(key, language)]
