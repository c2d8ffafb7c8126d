"""Text handling the evaluator relies on: tokens with their place in the original text, fuzzy term matching that
survives paraphrase and inflection, sentence and clause spans, and quotes that start and end on boundaries.

A token is one Chinese character or one Latin word/number (lower-cased, full-width folded, English words reduced to
a light stem). Every token keeps its (start, end) in the original text, so whatever is matched can be quoted
verbatim. A term matches a sentence when its tokens appear in order with small insertions: between two Chinese
characters only function characters (加锁 ~ 加个锁, 加了锁; 可访问 ~ 可被访问), next to a Latin word up to two
tokens of any kind (null hypothesis ~ null and alternative hypotheses is NOT a match: three words in between).
Long Chinese terms also match a clause holding most of their character pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

CJK_RANGE = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK = re.compile(f"[{CJK_RANGE}]")
# On the folded text: a Chinese character, or a word/number (C++, node.js, p99, 3.2, 99.9%, don't); hyphens and
# slashes separate words (write-ahead = write ahead).
_TOKEN = re.compile(f"[{CJK_RANGE}]|[a-z0-9][a-z0-9+#]*(?:[.'][a-z0-9+#]+)*%?")
# Characters a speaker inserts between the characters of a term without changing what it names.
FUNCTION_CHARS = frozenset("个了一把下过的些次点着被给到在也都就还再很更最这那其该")
MAX_CJK_GAP = 3
MAX_LATIN_GAP = 2
FUZZY_MIN_CJK = 6  # Chinese terms at least this long also match by shared character pairs
FUZZY_SHARE = 0.75
# A sentence ends at these (an exclamation mark only when not part of "!=", a full stop only before space or end and
# not after a common abbreviation).
_SENTENCE_END = re.compile(
    r"[。！？?；;\n]+|!(?![=\w])|(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bmr)(?<!\bdr)\.(?=\s|$)", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[，,、：:（）()「」“”\"]|——|\s-\s")
_IRREGULAR = {"hypotheses": "hypothesis", "analyses": "analysis", "indices": "index", "indexes": "index",
              "criteria": "criterion", "phenomena": "phenomenon", "children": "child", "people": "person",
              "matrices": "matrix", "vertices": "vertex", "caches": "cache", "queries": "query", "did": "do",
              "done": "do", "does": "do", "was": "be", "were": "be", "is": "be", "are": "be", "been": "be",
              "written": "write", "wrote": "write", "ran": "run", "built": "build", "made": "make"}
_DOUBLE = re.compile(r"([bdgmnprt])\1$")  # running → run, planned → plan (but calling → call, not cal)


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold(text: str) -> str:
    """Full-width to half-width and lower case, character for character (the result has the same length)."""
    quick = text.translate(_FULL_WIDTH).lower()
    if len(quick) == len(text) and quick.isascii() or not any(ord(c) > 0x2FF and not _CJK.match(c) for c in text):
        if len(quick) == len(text):
            return quick
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char).lower()
        out.append(folded if len(folded) == 1 else char.lower() if len(char.lower()) == 1 else char)
    return "".join(out)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stem: plural, -ing, -ed and a final e go (cache, caches, cached, caching → cach)."""
    if not word.isascii() or not word[:1].isalpha() or len(word) <= 3:
        return word
    if word in _IRREGULAR:
        return stem(_IRREGULAR[word]) if _IRREGULAR[word] != word else word
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 4 and word.endswith("es") and word[-3] in "sxz" or word.endswith(("ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = _DOUBLE.sub(r"\1", word[:-3]) if _DOUBLE.search(word[:-3]) else word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = _DOUBLE.sub(r"\1", word[:-2]) if _DOUBLE.search(word[:-2]) else word[:-2]
    if len(word) > 4 and word.endswith("e"):  # cache → cach like caching; but core stays core, unlike cors
        word = word[:-1]
    return word


# One token: its comparable form, and where it stands in the original text.
@dataclass(frozen=True)
class Token:
    key: str
    start: int
    end: int

    @property
    def cjk(self) -> bool:
        return len(self.key) == 1 and _CJK.match(self.key) is not None


def tokens(text: str) -> list[Token]:
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[Token, ...]:
    folded = fold(text)
    return tuple(Token(stem(m.group()) if not _CJK.match(m.group()) else m.group(), m.start(), m.end())
                 for m in _TOKEN.finditer(folded))


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text or ""))


# A term ready for matching: its token keys, and the character pairs of a long Chinese term.
@dataclass(frozen=True)
class Term:
    text: str
    keys: tuple[str, ...]
    pairs: frozenset[str]


_ARTICLE_WORD = re.compile(r"(?<![\w/])(?:a|an|the)\s+(?=\w)", re.IGNORECASE)


@lru_cache(maxsize=65536)
def compile_term(text: str) -> Term:
    """A term's tokens; articles that stand as words are dropped ("the null hypothesis"), not letters ("A/B")."""
    stripped = _ARTICLE_WORD.sub("", text)
    keys = [t.key for t in tokens(stripped or text)]
    run = "".join(k for k in keys if len(k) == 1 and _CJK.match(k))
    pairs = frozenset(run[i:i + 2] for i in range(len(run) - 1)) if len(run) >= FUZZY_MIN_CJK else frozenset()
    return Term(text, tuple(keys), pairs)


def _gap_ok(sentence: Sequence[Token], a: int, b: int, left: Token, right: Token) -> bool:
    """Whether the tokens strictly between positions a and b may stand inside a term."""
    between = sentence[a + 1:b]
    if not between:
        return True
    if left.cjk and right.cjk:
        return len(between) <= MAX_CJK_GAP and all(t.key in FUNCTION_CHARS for t in between)
    return len(between) <= MAX_LATIN_GAP


def find_term(sentence: Sequence[Token], term: Term, *,
              index: dict[str, list[int]] | None = None) -> tuple[int, int] | None:
    """(first token, last token) positions of the term in the sentence's tokens, or None."""
    if not term.keys:
        return None
    first = term.keys[0]
    starts = index.get(first, ()) if index is not None else [i for i, t in enumerate(sentence) if t.key == first]
    for i in starts:
        position, ok = i, True
        for key in term.keys[1:]:
            limit = MAX_CJK_GAP if sentence[position].cjk else MAX_LATIN_GAP
            nxt = next((j for j in range(position + 1, min(len(sentence), position + 2 + limit))
                        if sentence[j].key == key and _gap_ok(sentence, position, j, sentence[position], sentence[j])),
                       None)
            if nxt is None:
                ok = False
                break
            position = nxt
        if ok:
            return i, position
    return None


def pair_share(text_pairs: set[str], term: Term) -> float:
    """How many of a long Chinese term's character pairs a piece of text holds (0 for short or Latin terms)."""
    if not term.pairs:
        return 0.0
    return len(term.pairs & text_pairs) / len(term.pairs)


def cjk_pairs(text: str) -> set[str]:
    return set(_cjk_pairs(text))


@lru_cache(maxsize=8192)
def _cjk_pairs(text: str) -> frozenset[str]:
    pairs: set[str] = set()
    for run in _CJK_RUN.findall(text):
        pairs.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(pairs)


_CJK_RUN = re.compile(f"[{CJK_RANGE}]+")


# -- sentences, clauses, quotes ------------------------------------------------------------------------------------


def _trimmed(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for begin, end in spans:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            out.append((begin + left, begin + right))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, its closing punctuation included; slices are exact substrings."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return _trimmed(text, spans)


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of text[start:end] (split at commas, enumeration commas, colons, brackets, dashes)."""
    spans, begin = [], start
    for match in _CLAUSE_END.finditer(text, start, end):
        spans.append((begin, match.end()))
        begin = match.end()
    spans.append((begin, end))
    return _trimmed(text, spans)


def quote(text: str, sentence: tuple[int, int], focus: tuple[int, int] | None = None, limit: int = 160) -> str:
    """A verbatim quote of a sentence, on sentence boundaries; a long sentence is cut to the clauses around `focus`
    (and never mid-word), so the quote still holds what it quotes for."""
    start, end = sentence
    if end - start <= limit:
        return text[start:end].strip()
    focus = focus or (start, min(end, start + 1))
    clauses = clause_spans(text, start, end)
    chosen = [c for c in clauses if c[0] < focus[1] and c[1] > focus[0]] or clauses[:1]
    a, b = chosen[0][0], chosen[-1][1]
    for c in clauses:  # grow to neighbouring clauses while they fit
        if c[1] <= a and b - c[0] <= limit:
            a = c[0]
    for c in clauses:
        if c[0] >= b and c[1] - a <= limit:
            b = c[1]
    if b - a > limit:  # one very long clause: cut at a word boundary around the focus
        a, b = _word_window(text, max(a, focus[0] - limit // 3), min(b, max(focus[1], focus[0]) + limit // 2), a, b)
    return text[a:b].strip(" ,，、：:")


def _word_window(text: str, a: int, b: int, floor: int, ceiling: int) -> tuple[int, int]:
    """Move a and b outwards/inwards to word boundaries (Chinese characters are boundaries themselves)."""
    while a > floor and text[a - 1].isascii() and text[a - 1].isalnum() and text[a].isascii() and text[a].isalnum():
        a += 1
    while b < ceiling and b > a and text[b - 1].isascii() and text[b - 1].isalnum() and text[b].isascii() \
            and text[b].isalnum():
        b -= 1
    return a, b
