"""What the interviewer heard in an answer that a follow-up can pick up, and the follow-ups it offers.

Every follow-up refers only to something the candidate actually said: a number they gave ("你提到首屏从3.2秒降到
1.1秒，这个数是怎么测出来的？"), a technology or method they named (a deep-dive question from the probe bank), their
own words next to the most important point they missed, or the sentence in which they asserted a misconception.
The workflow (core.interviewer.workflow.decide) chooses among these offers; nothing here decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.interviewer import text as tx
from core.interviewer.judge import AnswerEvaluation, denies_experience

LEVEL_UP = {"junior": "mid", "mid": "senior", "senior": "senior"}
# A number worth asking about: a measurement with a unit (not a year, an age or a list position).
_MEASURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|％|ms|毫秒|秒|s\b|分钟|min\b|小时|倍|x\b|万|千|亿|k\b|qps|tps|rps|mb|gb|tb|人|次|条|笔|单|元)"
    r"|(?:qps|tps|rps|p99|p95|dau|gmv)\s*\d", re.IGNORECASE)
_CHANGE = re.compile(r"从|降到|降至|降低|减少|提升|提高|提到|增长|缩短|节省|翻了|reduc|increas|improv|cut|dropp|"
                     r"from\s|down to|up to|grew|sav|faster|slower", re.IGNORECASE)
_LEADING = re.compile(r"^(?:然后|最后|最终|所以|因此|并且|而且|另外|同时|接着|后来|于是|我们|我|也|就|都|把|将|"
                      r"and|so|then|finally|eventually|also|which)[\s，,]*", re.IGNORECASE)
_FIRST_PERSON = {"i": "you", "my": "your", "i'm": "you're", "i've": "you've"}
_PROJECT_NAME = re.compile(
    r"(?:做|负责|参与|主导|开发|搭建|设计)(?:了|过)?(?:一个|一套)?(?:叫)?[“\"「《]?([\w\u4e00-\u9fff·\-]{2,14}?)[”\"」》]?"
    r"(?=项目|系统|平台|小程序|app|App|APP)"
    r"|(?:the|a|our|my)\s+([A-Z][\w\-]*(?:\s+[A-Z][\w\-]*){0,3})\s+(?:project|system|platform|app|service)")
PROJECT_WORDS = ("这个项目", "该项目", "this project", "that project")


# One follow-up on offer: what it picks up from the answer (a verbatim piece of it) and the question to ask.
@dataclass
class Offer:
    reason: str  # number | probe | missed_point | deep | simpler | challenge | denial
    question: str
    said: str = ""  # the candidate's words it refers to (verbatim), "" when it refers to nothing they said
    probe_term: str = ""  # the probe bank term, for probes (asked at most once per interview)
    point: str = ""  # the key point, for missed_point


# What a follow-up can pick up from the newest answer.
@dataclass
class Heard:
    number: Offer | None = None
    probe: Offer | None = None
    deep_probe: Offer | None = None
    missed: Offer | None = None
    deep: Offer | None = None
    simpler: Offer | None = None
    challenge: Offer | None = None
    denial: bool = False
    project_named: bool = False
    offers: list[Offer] = field(default_factory=list)


def number_phrase(answer: str, language: str) -> str | None:
    """The clause of the answer around its most telling measurement ("首屏从3.2秒降到了1.1秒"), verbatim."""
    best: tuple[int, str] | None = None
    for a, b in tx.sentence_spans(answer):
        for ca, cb in tx.clause_spans(answer, a, b):
            clause = answer[ca:cb].strip(" ，,。.;；!！?？")
            if not _MEASURE.search(clause) or re.search(r"(19|20)\d\d\s*年", clause):
                continue
            rank = 2 if _CHANGE.search(clause) else 1
            if best is None or rank > best[0]:
                best = (rank, clause)
    if best is None:
        return None
    phrase = best[1]
    while (trimmed := _LEADING.sub("", phrase)) != phrase and trimmed:
        phrase = trimmed
    if language != "zh-CN":  # "You mentioned you cut ..." (the candidate's "I" is "you" when quoted back)
        first, _, rest = phrase.partition(" ")
        phrase = f"{_FIRST_PERSON[first.lower()]} {rest}" if first.lower() in _FIRST_PERSON and rest else phrase
    limit = 28 if language == "zh-CN" else 90
    if len(phrase) > limit:
        match = _MEASURE.search(phrase)
        start = max(0, match.start() - limit // 2)
        phrase = phrase[start:start + limit]
        if language != "zh-CN":  # whole words only
            phrase = phrase.split(" ", 1)[-1] if start else phrase
            phrase = phrase.rsplit(" ", 1)[0] if len(phrase) == limit else phrase
    return phrase.strip(" ，,") or None


def project_name(answers: Sequence[str]) -> str | None:
    for answer in answers:
        match = _PROJECT_NAME.search(answer)
        if match:
            return (match.group(1) or match.group(2) or "").strip() or None
    return None


def mentions_project(answers: Sequence[str]) -> bool:
    text = " ".join(answers).lower()
    return project_name(answers) is not None or "项目" in text or "project" in text


_ACROSS_CLAUSES = re.compile(r"[;；。!！?？,，、:：()（）\n]|\.\s")


def _find_within_clause(answer: str, toks, term, index) -> tuple[int, int] | None:
    """The first place the term is named inside one clause: "roll pointer; on update" is not "rolling update"."""
    found = tx.find_term(toks, term, index=index)
    while found is not None and _ACROSS_CLAUSES.search(answer[toks[found[0]].start:toks[found[1]].end]):
        skip = found[0] + 1
        rest = tx.find_term(toks[skip:], term)
        found = None if rest is None else (rest[0] + skip, rest[1] + skip)
    return found


def _probe_hits(answer: str, question_text: str, language: str, field_key: str) -> list[tuple[int, object, str]]:
    """(position, probe, words said) for every probe-bank term the answer names and the question does not."""
    from core.interviewer.content import load_probes

    toks = tx.tokens(answer)
    index: dict[str, list[int]] = {}
    for i, t in enumerate(toks):
        index.setdefault(t.key, []).append(i)
    question_tokens = tx.tokens(question_text)
    hits = []
    for probe in load_probes(language).probes:
        if probe.fields and field_key not in probe.fields:
            continue  # an accountant's "alert" is not a DevOps alerting story
        for alias in (probe.term, *probe.aliases):
            term = tx.compile_term(alias)
            found = _find_within_clause(answer, toks, term, index)
            if found is None:
                continue
            said = answer[toks[found[0]].start:toks[found[1]].end]
            if tx.find_term(question_tokens, term) is not None:
                break  # the question itself is about it: probing it is no follow-up
            hits.append((toks[found[0]].start, probe, said))
            break
    return sorted(hits, key=lambda h: h[0])


def _probe_offer(hits, level: str, used: Sequence[str], reason: str, turn: int) -> Offer | None:
    """A deep-dive on the first term named that was not probed yet; among that level's questions, one chosen by
    the turn, so interviews differ."""
    for _, probe, said in hits:
        if probe.term in used:
            continue
        questions = [q for q in probe.questions if q.level == level] or list(probe.questions)
        return Offer(reason, questions[turn % len(questions)].text, said=said, probe_term=probe.term)
    return None


def hear(*, answers: Sequence[str], evaluation: AnswerEvaluation, item: Mapping, stage: str, language: str,
         level: str, field_key: str, state: Mapping) -> Heard:
    """Offers for the next message, from what the candidate said on the current question (newest answer first)."""
    latest = answers[-1] if answers else ""
    heard = Heard(denial=denies_experience(latest), project_named=mentions_project(answers))
    used_probes = list(state.get("probed") or [])
    picked = set(state.get("picked") or [])
    if (phrase := number_phrase(latest, language)) is not None and phrase not in picked:
        heard.number = Offer("number", "", said=phrase)
    hits = _probe_hits(latest, str(item.get("question", "")), language, field_key) if stage != "self_intro" else []
    turn = int(state.get("index", 0)) + len(used_probes)
    heard.probe = _probe_offer(hits, level, used_probes, "probe", turn)
    heard.deep_probe = _probe_offer(hits, LEVEL_UP.get(level, "senior"), used_probes, "deep", turn)
    heard.missed = _missed_offer(evaluation, item, picked, quote=stage == "technical")
    used_follow_ups = list(state.get("used_follow_ups") or [])
    deep = next((f for f in item.get("follow_ups") or [] if f and f not in used_follow_ups
                 and (heard.project_named or not any(w in f.lower() for w in PROJECT_WORDS))), None)
    if deep:
        lead = _covered_words(evaluation, picked) if stage == "technical" else ""
        heard.deep = Offer("deep", deep, said=lead)
    if item.get("simpler"):
        heard.simpler = Offer("denial" if heard.denial else "simpler", str(item["simpler"]))
    if evaluation.misconception is not None:
        m = evaluation.misconception
        heard.challenge = Offer("challenge", m.challenge, said=_short(m.evidence, language))
    heard.offers = [o for o in (heard.challenge, heard.number, heard.probe, heard.deep_probe, heard.missed,
                                heard.deep, heard.simpler) if o is not None]
    return heard


def _missed_offer(evaluation: AnswerEvaluation, item: Mapping, picked: set[str], quote: bool) -> Offer | None:
    """The ask of the most important point not covered (missed first, then unclear), led in by the candidate's own
    words on a point they did cover."""
    asks = {str(p.get("point", "")): p.get("ask") for p in item.get("key_points") or []}
    said = _covered_words(evaluation, picked) if quote else ""
    for status in ("missed", "unclear"):
        for decision in evaluation.points:
            if decision.status == status and asks.get(decision.point):
                return Offer("missed_point", str(asks[decision.point]), said=said, point=decision.point)
    return None


def _covered_words(evaluation: AnswerEvaluation, picked: set[str]) -> str:
    """The candidate's own words on a point they covered, worth quoting back; "" when there are none."""
    return next((d.said for d in evaluation.points
                 if d.status == "covered" and _quotable(d.said) and d.said not in picked), "")


_NOT_QUOTABLE = re.compile(r"^(i|we|you|he|she|they|it|my|our|in the end|as a result|finally|then|so|because)\b"
                           r"|[我你他她它]|^(最后|然后|结果|因为|所以|其实|后来|当时|首先|其次)", re.IGNORECASE)


# English words a quoted term does not start or end with: it would be a clause, not a name ("throws away", "within
# a partition").
_NOT_A_NAME = frozenset(
    "a an the this that these those each every within on in at for with from by to into over under after before "
    "during without of is are was were be has have had make makes made use uses used get gets go goes run runs take "
    "takes keep keeps put puts set sets return returns call calls throw throws do does can will would should must "
    "and or but not no".split())


def _quotable(words: str) -> bool:
    """Words worth quoting back as what the candidate talked about: a term, not a pronoun, a connective or a
    fragment of a clause."""
    words = (words or "").strip()
    if not words or len(words) > 24 or _NOT_QUOTABLE.search(words):
        return False
    if tx.cjk_count(words):
        return tx.cjk_count(words) >= 2
    parts = words.lower().split()
    return len(words) >= 3 and parts[0] not in _NOT_A_NAME and parts[-1] not in _NOT_A_NAME


def _short(sentence: str, language: str) -> str:
    """The part of a sentence worth quoting back (its first clause that says something), verbatim."""
    spans = tx.clause_spans(sentence, 0, len(sentence))
    for a, b in spans:
        clause = sentence[a:b].strip(" ，,。.;；!！?？")
        if tx.cjk_count(clause) >= 4 or len(clause.split()) >= 3:
            limit = 30 if language == "zh-CN" else 100
            return clause if len(clause) <= limit else ""
    return ""
