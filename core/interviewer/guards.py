"""Checks on everything a model writes before a user sees it: the interviewer's replies and the report's prose.

Each check returns the names of the problems it found (empty when the text may be shown). The callers regenerate
a failing reply once with the reasons, then fall back to the built-in phrasing of the same decision; a failing
report field falls back to the built-in text. Hits are counted in the stored usage (see engine.Usage).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

from core.interviewer import text as tx
from core.interviewer.judge import find_injection, normalise

NEAR_DUPLICATE = 0.88  # normalised similarity at which a message repeats an earlier one
COPIED_RUN = 16  # this many characters of the candidate's words in a row is a copy, not a reference (CJK count 1)
MIN_ZH_SHARE = 0.35  # of a Chinese session's letters at least this share is Chinese
MAX_ZH_IN_EN = 0.10  # of an English session's letters at most this share is Chinese

# Text that only the prompt or the scoring rules contain: a reply or report quoting it leaks them.
_LEAK = re.compile(
    r"candidate_answer|session_facts|<\s*/?\s*(system|user|assistant|candidate|instructions?)\b|\bsystem prompt\b|"
    r"\bDecision:|\bA possible phrasing\b|\bRules?:\s*$|\bkey[_ ]points?\b|\brubric\b|score_0_to_5|"
    r"\bquestion_id\b|\bper_question\b|\buntrusted\b|评分标准|评分规则|关键要点|系统提示|提示词",
    re.IGNORECASE | re.MULTILINE,
)
_QUESTION_MARKS = re.compile(r"[?？]")
_PRAISE = re.compile(r"优秀|出色|非常好|很好|表现突出|扎实|令人印象|完美|较强|很强|熟练|精通|"
                     r"excellent|outstanding|impressive|strong|great|very good|well done|solid|proficient|skilled",
                     re.IGNORECASE)
_CRITICISM = re.compile(r"较差|很差|不及格|薄弱|欠缺|不足|poor|weak|lacking|insufficient|fell short", re.IGNORECASE)


def _letters(text: str) -> tuple[int, int]:
    """(Chinese characters, Latin letters) in `text`."""
    return tx.cjk_count(text), sum(1 for ch in text if ch.isascii() and ch.isalpha())


_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]*")


def wrong_language(text: str, language: str, terms: str = "") -> bool:
    """Mostly not in the session's language; Latin words that `terms` (the decided question, the draft) uses
    are technical terms (Cache-Control, no-store) and do not count as English."""
    if terms:
        allowed = {word.lower() for word in _LATIN_TERM.findall(terms)}
        text = _LATIN_TERM.sub(lambda m: "" if m.group(0).lower() in allowed else m.group(0), text)
    cjk, latin = _letters(text)
    total = cjk + latin
    if total < 6:
        return False
    if language == "en":
        return cjk / total > MAX_ZH_IN_EN
    return cjk / total < MIN_ZH_SHARE


_MARKUP = re.compile(r"candidate_answer|session_facts|<\s*/?\s*(system|user|assistant|candidate|instructions?)\b|"
                     r"\bsystem prompt\b|score_0_to_5|\bquestion_id\b|\bper_question\b|系统提示|提示词",
                     re.IGNORECASE)


def leaks_prompt(text: str, secrets: Iterable[str] = (), *, markup_only: bool = False) -> bool:
    """Prompt markup, instructions, rubric words (not `markup_only`), or one of `secrets` (e.g. expected key
    points) word for word."""
    if (_MARKUP if markup_only else _LEAK).search(text):
        return True
    folded = normalise(text)
    return any(len(secret) >= 4 and secret in folded for secret in (normalise(s) for s in secrets))


def near_duplicate(text: str, earlier: Iterable[str]) -> bool:
    """The same as an earlier interviewer message once case, spaces and punctuation are ignored."""
    mine = normalise(text)
    if not mine:
        return False
    for other in earlier:
        if not other:
            continue
        if mine == other or SequenceMatcher(None, mine, other, autojunk=False).ratio() >= NEAR_DUPLICATE:
            return True
    return False


def copies(text: str, source: str, run: int = COPIED_RUN) -> bool:
    """`text` contains `run` or more consecutive (normalised) characters of `source`."""
    a, b = normalise(text), normalise(source)
    if len(a) < run or len(b) < run:
        return False
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= run


def injected(text: str, sources: Iterable[str]) -> bool:
    """An instruction to the model, or a passage of the candidate's text carrying one, repeated in `text`."""
    if find_injection(text):
        return True
    for source in sources:
        for a, b in find_injection(source):
            if copies(text, source[a:b], run=min(COPIED_RUN, max(6, len(normalise(source[a:b]))))):
                return True
    return False


_MARKDOWN = re.compile(r"^\s*([-*•]|\d+[.)、])\s+|\*\*|^#+\s|```", re.MULTILINE)
ASKED_SHARE = 0.5  # of the decided question's character pairs a reply without a question mark must contain


def asks_the_question(text: str, question: str) -> bool:
    """The reply carries the decided question: a question mark, or most of the question's wording."""
    if not question or _QUESTION_MARKS.search(text):
        return True
    wanted = tx.cjk_pairs(question) or set(normalise(question).split())
    if not wanted:
        return True
    have = tx.cjk_pairs(text) if tx.cjk_pairs(question) else set(normalise(text).split())
    return len(wanted & have) / len(wanted) >= ASKED_SHARE


def reply_problems(text: str, *, language: str, earlier: Iterable[str], ends: bool, max_chars: int,
                   secrets: Iterable[str] = (), candidate: Iterable[str] = (), question: str = "",
                   terms: str = "") -> list[str]:
    """What is wrong with an interviewer reply: empty, too_long, format (markdown, lists), duplicate, questions
    (more than one, or any when the interview ends), off_decision (the decided question is missing), language,
    leak (prompt/rubric text), injection (repeats an instruction)."""
    if not text.strip():
        return ["empty"]
    problems = []
    if len(text) > max_chars:
        problems.append("too_long")
    if _MARKDOWN.search(text):
        problems.append("format")
    if not ends and not asks_the_question(text, question):
        problems.append("off_decision")
    if near_duplicate(text, earlier):
        problems.append("duplicate")
    asked = len(_QUESTION_MARKS.findall(text))
    if asked > (0 if ends else 1):
        problems.append("questions")
    if wrong_language(text, language, terms):
        problems.append("language")
    if leaks_prompt(text, secrets):
        problems.append("leak")
    if injected(text, candidate):
        problems.append("injection")
    return problems


def prose_problems(text: str, *, language: str, answers: Iterable[str], secrets: Iterable[str] = ()) -> list[str]:
    """What is wrong with one piece of report prose: language, leak, injection."""
    answers = list(answers)
    problems = []
    if wrong_language(text, language):
        problems.append("language")
    if leaks_prompt(text, secrets, markup_only=True):
        problems.append("leak")
    if injected(text, answers):
        problems.append("injection")
    return problems


def strength_contradicts(strength: str, overall: float) -> bool:
    """A strength praising ability in a weak interview (under 40/100): the scores say otherwise."""
    return overall < 40 and bool(_PRAISE.search(strength))


def summary_contradicts(summary: str, overall: float) -> bool:
    """A summary praising a weak interview (under 40/100) or criticising mostly a strong one (80+)."""
    if overall < 40:
        return bool(_PRAISE.search(summary)) and not _CRITICISM.search(summary)
    if overall >= 80:
        return bool(_CRITICISM.search(summary)) and not _PRAISE.search(summary)
    return False
