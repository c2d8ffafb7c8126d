"""The offline interviewer: rule-based answer evaluation and interviewer message templates (zh-CN and English).

Everything here is deterministic: the same answer gives the same evaluation, and template choices come from a
`random.Random` seeded by the caller (session id + turn), so a session replays identically.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# -- evaluation result ---------------------------------------------------------------------------------------------

FLAGS = ("empty", "gibberish", "off_topic", "injection")
SCORED_STAGES = ("self_intro", "technical", "project", "behavioral")
INJECTION_PENALTY = 1.0  # an answer that tries to steer the grader scores lower than the same answer without it


# The interviewer's private judgement of one answer (never shown during the interview).
@dataclass
class AnswerEvaluation:
    score: float
    evidence: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)
    coverage: float = 0.0
    length: float = 0.0
    specificity: float = 0.0
    structure: float = 0.0
    substantive: bool = True  # the newest message says something gradable (not empty/nonsense/off-topic/injection only)
    any_substance: bool = True  # something gradable was said on this question at all
    source: str = "offline"
    thin_override: bool | None = None  # a model's grade decides thinness by its score alone

    @property
    def thin(self) -> bool:
        """Worth a follow-up: a low score, or (by the rules) less than half the key points covered."""
        if self.thin_override is not None:
            return self.thin_override
        return self.score < 3.0 or (bool(self.covered or self.missed) and self.coverage < 0.5)


# -- text helpers --------------------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#]*(?:[.\-'][A-Za-z0-9+#]+)*")
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|\.(?=\s|$)")
_PUNCT_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
QUESTION_MARKS = ("？", "?")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text)


def text_units(text: str) -> int:
    """A rough size: Chinese characters plus two per Latin word (an English word carries about two hanzi)."""
    return cjk_count(text) + 2 * len(latin_words(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, trimmed of surrounding whitespace; slices are exact substrings."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for begin, end in spans:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((begin + left, begin + right))
    return trimmed


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def _bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", text):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def terms(text: str) -> set[str]:
    """Comparable terms: Chinese character bigrams and lower-cased Latin words (2+ letters)."""
    found = _bigrams(text) - STOP_BIGRAMS
    found.update(w.lower() for w in latin_words(text) if len(w) >= 2 and w.lower() not in STOP_WORDS_EN)
    return found


def normalise(text: str) -> str:
    return _PUNCT_SPACE.sub("", (text or "").lower())


def contains_term(text_lower: str, term: str) -> bool:
    """Case-insensitive containment; short Latin terms must stand alone ("go" must not match "good")."""
    term = (term or "").strip().lower()
    if not term:
        return False
    if re.fullmatch(r"[a-z0-9+#.\- ]+", term) and len(term) <= 4:
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text_lower) is not None
    return term in text_lower


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


# -- vocabularies --------------------------------------------------------------------------------------------------

STOP_BIGRAMS = frozenset(
    "我们 你们 他们 一下 什么 一个 这个 那个 可以 怎么 如何 是否 进行 时候 的是 是什 么样 一些 自己 这些 那些 没有 "
    "就是 还是 然后 因为 所以 但是 如果 已经 非常 比较 觉得 认为 可能 应该 需要 请你 你的 我的 介绍 谈谈 说说 讲讲 "
    "有什 怎样 为什 哪些 么是 的话 一次 一种 不是 也是 都是 是一 有一 个人 这样 那么 以及 或者 其中 通过 "
    "之间 的时".split()
)
STOP_WORDS_EN = frozenset(
    "the a an and or but if of to in on at for with by from as is are was were be been being it its this that these "
    "those i me my we our you your he she they them their do does did have has had not no so such can could would "
    "should will just than then there here what which who how when where why about into over also very".split()
)
COMMON_EN_WORDS = STOP_WORDS_EN | frozenset(
    "all any some more most other only own same too both each few many much one two three first second last next "
    "new old good great well make made use used using work worked working team teams project projects problem "
    "problems solution user users data system systems code time people think know like want need because however "
    "therefore example experience experiences job role company business product design test tests performance "
    "learn learned help helped lead led manage managed build built improve improved result results reduce reduced "
    "increase increased feature features issue issues question questions answer yes thanks thank interview "
    "candidate skills skill background years year month months day days developer engineer engineering software "
    "application app service services server client web mobile api database framework library tool tools".split()
)
GENERIC_INTERVIEW_TERMS = (
    "项目 工作 经验 经历 负责 团队 开发 技术 用户 数据 系统 性能 设计 实现 方案 优化 业务 产品 测试 公司 学习 能力 "
    "沟通 需求 问题 解决 结果 目标 任务 成长 毕业 大学 专业 计算机 实习 岗位 职位 同事 领导 客户 上线 架构 代码 框架 "
    "工具 流程 效率 质量 指标 提升 降低 分析 协作 冲突 压力 挑战 失败 成功 反思 改进 计划 安排 规划 职业 发展 了解 "
    "熟悉 掌握 使用 擅长 负责人 合作 推动 落地 版本 迭代 线上 故障 排查 监控 部署 维护 文档 规范 评审 复盘 "
    "用过 细节 记得 清楚 确定 原理 知道 接触 听说 理解 具体 例子 场景 平时 实际 遇到 处理 用法 概念 方法 思路"
).split() + (
    "project work experience team develop development technical technology user data system performance design "
    "implement solution optimize business product test company learn skill communication requirement problem "
    "solve result goal task growth graduate university major intern internship role position colleague manager "
    "client customer launch release architecture code framework tool process efficiency quality metric improve "
    "reduce analysis collaborate conflict pressure challenge failure success plan career deadline stakeholder "
    "used use know remember sure detail details example concept idea approach familiar understand worked"
).split()

_FILLERS = {
    normalise(x)
    for x in (
        "嗯", "嗯嗯", "嗯嗯嗯", "啊", "呃", "额", "哦", "唔", "emm", "emmm", "不知道", "我不知道", "不清楚", "我不清楚",
        "不会", "我不会", "不了解", "没有", "没想好", "忘了", "不记得了", "跳过", "下一个", "算了", "无", "没", "略",
        "不懂", "我不懂", "不太清楚", "不太懂", "不太了解", "这个不会", "说不上来", "想不起来",
        "idk", "i don't know", "i dont know", "dont know", "no idea", "not sure", "pass", "skip", "nothing", "no",
        "n/a", "na", "um", "uh", "hmm", "hm", "ok", "okay", "next", "dunno", "no comment",
    )
}
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
_ADJACENT = {row[i]: row[i + 1] for row in _KEYBOARD_ROWS for i in range(len(row) - 1)}
_VOWELS = set("aeiouy")

# Phrases that try to steer the grader or the interviewer; matched case-insensitively.
INJECTION_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(忽略|无视|忘记|忘掉|不要管)(掉)?(你)?(之前|以上|上面|前面|先前|此前|所有|全部|刚才)?的?(所有|全部)?(的)?"
        r"(指令|指示|提示|规则|要求|设定|设置|命令)",
        r"(直接|必须|请)?给我(打|评)?(个)?(满分|高分|最高分|5分|五分|100分|一百分)",
        r"(打|给|评)(个)?满分",
        r"系统提示(词)?",
        r"你现在(是|扮演|变成)",
        r"从现在(开始|起)[，,]?你(是|要|扮演)",
        r"(越狱|开发者模式)",
        r"(告诉|透露|泄露)(我)?.{0,6}(评分标准|答案要点|参考答案|关键点|评分规则)",
        r"ignore\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|preceding|former)?\s*"
        r"(instructions?|prompts?|rules|directions|guidelines)",
        r"disregard\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier)?\s*(instructions?|rules|prompts?)",
        r"system\s+prompt",
        r"you\s+are\s+now\b",
        r"from\s+now\s+on,?\s+you\s+(are|will|must)",
        r"\bjailbreak",
        r"developer\s+mode",
        r"(give|award|assign)\s+me\s+(a\s+|the\s+)?(full|perfect|maximum|max|top|highest|high)\s+"
        r"(score|marks?|points?|rating)",
        r"score\s+(me|this|my answer)\s+(a\s+)?(5|five|100|10|perfect|full)",
        r"</?\s*(candidate_answer|system|instructions?)\s*>",
        r"new\s+instructions\s*:",
    )
)

_STAR_MARKERS = {
    "situation": ("当时", "背景", "那时", "情况是", "有一次", "situation", "context", "at the time", "once ", "when i"),
    "task": ("任务", "目标", "负责", "需要我", "职责", "task", "goal", "responsible", "my job", "needed to"),
    "action": ("我做了", "我采取", "首先", "然后", "我主动", "我决定", "我组织", "我推动", "采取", "我先",
               "action", "i decided", "i organized", "first,", "then ", "i led", "i proposed", "i worked"),
    "result": ("结果", "最终", "最后", "提升", "降低", "减少", "成功", "收获", "上线", "result", "outcome", "finally",
               "in the end", "improved", "reduced", "increased", "delivered", "learned"),
}
_CONNECTIVES = (
    "首先", "其次", "然后", "最后", "因为", "所以", "因此", "但是", "不过", "另外", "第一", "第二", "第三", "一方面",
    "另一方面", "总结", "总之", "例如", "比如", "first", "second", "then", "finally", "because", "therefore",
    "however", "so that", "for example", "in addition", "overall", "as a result",
)
_EXAMPLE_MARKERS = ("比如", "例如", "举个例子", "举例", "具体来说", "for example", "e.g.", "such as", "for instance")


# -- rule checks ---------------------------------------------------------------------------------------------------


def find_injection(text: str) -> list[tuple[int, int]]:
    """Spans of text that try to instruct the interviewer or grader."""
    return [m.span() for pattern in INJECTION_PATTERNS for m in pattern.finditer(text or "")]


def strip_injection(text: str) -> str:
    """The answer without the sentences that carry an injection (what we actually grade)."""
    spans = find_injection(text)
    if not spans:
        return text
    kept = [
        text[a:b] for a, b in sentence_spans(text)
        if not any(s < b and e > a for s, e in spans)
    ]
    return "\n".join(kept)


def is_empty(text: str) -> bool:
    core = normalise(text)
    if len(core) <= 1:
        return True
    if core in _FILLERS:
        return True
    return all(ch in "嗯啊呃额哦唔哈嘿emhu" for ch in core) and len(core) <= 6


def _keyboard_run_chars(token: str) -> int:
    """Letters that sit in runs of 3+ neighbouring keys typed left to right ("asdf", "jkl")."""
    total, run = 0, 1
    for prev, cur in zip(token, token[1:], strict=False):
        if _ADJACENT.get(prev) == cur:
            run += 1
        else:
            total += run if run >= 3 else 0
            run = 1
    return total + (run if run >= 3 else 0)


def _is_mash(token: str, known: set[str]) -> bool:
    low = token.lower()
    if low in known or low in COMMON_EN_WORDS:
        return False
    if token.isupper() and len(token) <= 6:
        return False  # an acronym: SQL, HTTP, CSRF
    letters = re.sub(r"[^a-z]", "", low)
    if len(letters) < 3:
        return False
    if _keyboard_run_chars(letters) / len(letters) > 0.6:
        return True
    if re.search(r"(.)\1{3,}", letters):
        return True
    if re.search(r"[^aeiouy]{6,}", letters):
        return True
    return len(letters) >= 5 and not (_VOWELS & set(letters))


def is_gibberish(text: str, *, language: str, known: set[str]) -> bool:
    """Keyboard mash, one character repeated, no real words, or random Latin letters."""
    core = normalise(text)
    if len(core) >= 4 and (len(set(core)) <= 2 or re.search(r"(.)\1{5,}", core)):
        return True
    words = latin_words(text)
    hanzi = cjk_count(text)
    if hanzi >= 4:
        return False
    if not words:
        return hanzi == 0 and len(re.sub(r"\s", "", text)) >= 3  # digits and symbols only
    letters = sum(len(w) for w in words)
    mash_letters = sum(len(w) for w in words if _is_mash(w, known))
    if mash_letters / max(1, letters) >= 0.5:
        return True
    real = [w for w in words if w.lower() in COMMON_EN_WORDS or w.lower() in known or w.isupper()]
    return len(words) >= 2 and not real


def is_off_topic(text: str, vocabulary: set[str]) -> bool:
    """An answer that shares (almost) no vocabulary with the question, its key points or the field."""
    answer_terms = terms(text)
    if len(answer_terms) < 6:
        return False
    overlap = len(answer_terms & vocabulary)
    return overlap <= 1 or (len(answer_terms) >= 30 and overlap / len(answer_terms) < 0.05)


def build_vocabulary(question: dict, extra: Iterable[str] = ()) -> set[str]:
    """Terms of the question, its key points, synonyms, tags and follow-ups, the field, and interview basics."""
    parts = [question.get("question", ""), *question.get("tags", []), *question.get("follow_ups", []), *extra]
    for point in question.get("key_points", []):
        parts.append(point.get("point", ""))
        parts.extend(point.get("synonyms", []))
    return terms(" ".join(parts)) | _generic_vocabulary()


_GENERIC_VOCABULARY: set[str] = set()


def _generic_vocabulary() -> set[str]:
    if not _GENERIC_VOCABULARY:
        _GENERIC_VOCABULARY.update(terms(" ".join(GENERIC_INTERVIEW_TERMS)))
    return _GENERIC_VOCABULARY


def known_words(question: dict, extra: Iterable[str] = ()) -> set[str]:
    """Latin words that are real in this context (tags, synonyms, field terms)."""
    words = {w.lower() for w in latin_words(" ".join(build_texts(question, extra)))}
    return words | {w for w in GENERIC_INTERVIEW_TERMS if w.isascii()}


def build_texts(question: dict, extra: Iterable[str] = ()) -> list[str]:
    texts = [question.get("question", ""), *question.get("tags", []), *question.get("follow_ups", []), *extra]
    for point in question.get("key_points", []):
        texts.append(point.get("point", ""))
        texts.extend(point.get("synonyms", []))
    return texts


# -- scoring -------------------------------------------------------------------------------------------------------


def _coverage(answer_lower: str, key_points: Sequence[dict]) -> tuple[list[str], list[str], list[str]]:
    """(covered points, missed points, the terms that matched)."""
    covered, missed, matched = [], [], []
    for point in key_points:
        candidates = [point.get("point", ""), *point.get("synonyms", [])]
        hit = next((c for c in candidates if contains_term(answer_lower, c)), None)
        if hit is None:
            missed.append(point.get("point", ""))
        else:
            covered.append(point.get("point", ""))
            matched.append(hit)
    return covered, missed, matched


def _specificity(text: str, known: set[str]) -> float:
    score = 0.0
    if _DIGIT.search(text):
        score += 0.4
    tech = [w for w in latin_words(text) if w.lower() in known or (w[0].isupper() and w.lower() not in COMMON_EN_WORDS)]
    score += 0.4 if len(tech) >= 2 else 0.2 if tech else 0.0
    lower = text.lower()
    if any(marker in lower for marker in _EXAMPLE_MARKERS):
        score += 0.2
    return min(1.0, score)


def star_score(text: str) -> float:
    lower = text.lower()
    return sum(any(m in lower for m in markers) for markers in _STAR_MARKERS.values()) / 4


def structure_score(text: str, stage: str) -> float:
    lower = text.lower()
    connectives = sum(1 for c in _CONNECTIVES if c in lower)
    value = min(1.0, connectives / 3)
    if stage in ("behavioral", "project"):
        value = 0.5 * value + 0.5 * star_score(text)
    return value


_WEIGHTS = {  # coverage, length, specificity, STAR
    "technical": (3.0, 1.0, 1.0, 0.0),
    "project": (2.0, 1.0, 1.0, 1.0),
    "behavioral": (1.5, 1.0, 1.0, 1.5),
    "self_intro": (2.0, 1.5, 1.5, 0.0),
}


def message_flags(
    text: str, *, question: dict, stage: str, language: str, field_terms: Sequence[str] = ()
) -> list[str]:
    """Rule flags for one candidate message: injection, and at most one of empty / gibberish / off_topic."""
    flags = ["injection"] if find_injection(text) else []
    clean = strip_injection(text)
    if not clean.strip() or is_empty(clean):
        if not flags:
            flags.append("empty")
    elif is_gibberish(clean, language=language, known=known_words(question, field_terms)):
        flags.append("gibberish")
    elif stage in SCORED_STAGES and is_off_topic(clean, build_vocabulary(question, field_terms)):
        flags.append("off_topic")
    return flags


def evaluate_answer(
    *, answers: Sequence[str], question: dict, stage: str, language: str, field_terms: Sequence[str] = (),
) -> AnswerEvaluation:
    """Score everything the candidate said on one question (0–5) against its key points.

    The flags describe the newest message; the score covers all messages on the question that carry content
    (a follow-up can fill gaps, a nonsense reply adds nothing). Injection sentences are never graded.
    """
    field_terms = list(field_terms)
    answers = list(answers) or [""]
    per_message = [message_flags(a, question=question, stage=stage, language=language, field_terms=field_terms)
                   for a in answers]
    flags = per_message[-1]
    useful = [strip_injection(a) for a, f in zip(answers, per_message, strict=True)
              if not {"empty", "gibberish", "off_topic"} & set(f)]
    graded = "\n".join(u for u in useful if u.strip())
    known = known_words(question, field_terms)
    key_points = question.get("key_points", [])
    covered, missed, matched = _coverage(graded.lower(), key_points)
    coverage = len(covered) / len(key_points) if key_points else 0.0
    length = min(1.0, text_units(graded) / 120) if graded else 0.0
    specificity = _specificity(graded, known) if graded else 0.0
    structure = structure_score(graded, stage) if graded else 0.0
    star = star_score(graded) if graded else 0.0
    w_cov, w_len, w_spec, w_star = _WEIGHTS.get(stage, (2.0, 1.5, 1.5, 0.0))
    cov_part = coverage if key_points else 0.5 * length + 0.5 * structure
    score = w_cov * cov_part + w_len * length + w_spec * specificity + w_star * star if graded else 0.0
    if any("injection" in f for f in per_message):
        score -= INJECTION_PENALTY
    score = round(max(0.0, min(5.0, score)), 1)
    nonsense = {"empty", "gibberish", "off_topic"} & set(flags)
    latest_substantive = not nonsense and bool(strip_injection(answers[-1]).strip())
    return AnswerEvaluation(
        score=score,
        evidence=pick_evidence(answers, matched),
        missed=missed,
        flags=flags,
        covered=covered,
        coverage=round(coverage, 3),
        length=round(length, 3),
        specificity=round(specificity, 3),
        structure=round(structure, 3),
        substantive=latest_substantive,
        any_substance=bool(graded.strip()),
    )


def pick_evidence(answers: Sequence[str], matched_terms: Sequence[str], limit: int = 3) -> list[str]:
    """Up to `limit` sentences quoted exactly from the answers that show a key point or a concrete figure."""
    quotes: list[str] = []
    lowered_terms = [t.lower() for t in matched_terms if t]
    for answer in answers:
        quotes.extend(q for q in _evidence_in(answer, lowered_terms) if q not in quotes)
    return quotes[:limit]


def _evidence_in(answer: str, lowered_terms: Sequence[str]) -> list[str]:
    injected = find_injection(answer)
    quotes: list[str] = []
    for a, b in sentence_spans(answer):
        if any(s < b and e > a for s, e in injected):
            continue
        sentence = answer[a:b]
        low = sentence.lower()
        if any(term in low for term in lowered_terms) or (_DIGIT.search(sentence) and text_units(sentence) >= 6):
            quote = sentence[:160].rstrip()
            if quote and quote not in quotes:
                quotes.append(quote)
    return quotes


def filter_evidence(quotes: Iterable, answers: Sequence[str], limit: int = 5) -> list[str]:
    """Keep only quotes that are exact substrings of one of the candidate's answers (no invented evidence)."""
    kept: list[str] = []
    for quote in quotes:
        if not isinstance(quote, str):
            continue
        quote = quote.strip()
        if len(quote) >= 2 and any(quote in answer for answer in answers) and quote not in kept:
            kept.append(quote)
        if len(kept) >= limit:
            break
    return kept


# -- the candidate's questions (反问) -------------------------------------------------------------------------------

_QUESTION_WORDS = re.compile(
    r"[?？]|吗|什么|怎么|怎样|如何|哪些|哪个|哪里|多少|多大|多久|多长|几个|几位|是否|有没有|能不能|可不可以|会不会|请问"
    r"|想了解|想问|介绍一下"
    r"|\b(what|how|when|which|where|who|why|could|can|is there|are there|do you|does the|would)\b",
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
    "follow_up_prefix": {
        "zh-CN": ("我想再追问一下：", "顺着这个问题，", "接着刚才的话题，", "再深入一点：", "好的，我再追问一个细节：",
                  "关于这一点，", "我想多了解一些：", "嗯，"),
        "en": ("Let me follow up on that. ", "Building on that, ", "A follow-up: ", "Going a bit deeper, ",
               "I'd like to dig into one detail. ", "On that point, ", "Let me ask a bit more. ", "Okay. "),
    },
    "follow_up_generic": {
        "zh-CN": ("能结合你实际做过的事情，把{topic}再具体讲讲吗？",
                  "在{topic}这方面，你能举一个自己遇到过的具体例子吗？",
                  "如果在实际工作中遇到和{topic}相关的难题，你会怎么一步步处理？",
                  "关于{topic}，你能再补充一些细节吗，比如具体是怎么做的？",
                  "回头看{topic}，你觉得有哪些地方可以做得更好？",
                  "围绕{topic}，你当时具体负责了哪些部分？"),
        "en": ("Could you walk me through {topic} in more detail, using something you actually did?",
               "Can you give me a concrete example involving {topic} from your own experience?",
               "If you ran into a hard problem with {topic}, how would you approach it step by step?",
               "Could you add more detail on {topic}, for instance how exactly you did it?",
               "Looking back at {topic}, what would you do better next time?",
               "Regarding {topic}, which parts were you personally responsible for?"),
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
    "cq_answer": {
        "zh-CN": ("谢谢你的提问。这部分的具体情况以招聘方的正式说明为准，我这里不方便给出确切信息，"
                  "建议在后续沟通中向 HR 或团队直接确认。",
                  "谢谢你的问题。具体安排要以公司的实际情况为准，我无法代表招聘方作出承诺，后续流程中团队会详细介绍。",
                  "感谢你的关心。这方面的细节会因团队和岗位而不同，建议以招聘方后续提供的信息为准。"),
        "en": ("Thanks for asking. The specifics depend on the hiring team, so I can't give you exact details here; "
               "please confirm them with HR or the team in the next steps.",
               "Thanks for the question. The actual arrangements depend on the company, and I can't make "
               "commitments on its behalf; the team will go through this later in the process.",
               "Thank you for the question. Details like this vary by team and role, so please rely on what the "
               "hiring team tells you later."),
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


_STAGE_TOPICS = {
    "zh-CN": {"self_intro": "你刚才提到的经历", "project": "这个项目", "behavioral": "这段经历"},
    "en": {"self_intro": "the experience you mentioned", "project": "this project", "behavioral": "that experience"},
}


def question_topic(question: dict, language: str) -> str:
    """A short noun phrase for a question, used by generic follow-ups (a tag, the stage's subject, or the question)."""
    tags = [tag for tag in question.get("tags", []) if tag and len(tag) <= 20]
    zh_tags = [tag for tag in tags if cjk_count(tag)]
    if tags:
        return (zh_tags or tags)[0] if language == "zh-CN" else next((t for t in tags if t.isascii()), tags[0])
    stage_topic = _STAGE_TOPICS.get(language, _STAGE_TOPICS["zh-CN"]).get(question.get("stage", ""))
    if stage_topic:
        return stage_topic
    text = re.sub(r"[？?。.!！]+$", "", question.get("question", "")).strip()
    limit = 14 if language == "zh-CN" else 40
    if len(text) > limit:
        text = text[:limit].rstrip(" ,，") + ("…" if language == "zh-CN" else "...")
    return ("“" + text + "”") if language == "zh-CN" else f'"{text}"'


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
    """The offline interviewer's message for a server decision: one question at most, never a repeat."""
    item = decision.item or {}
    question = one_question(item.get("question", ""))
    action = decision.action
    if action == "end":
        return _unique([templates("closing_early" if ended_early else "closing", language)], language, rng, used)
    if action == "reask":
        options = [t.format(question=question) for t in templates("reask", language)]
        return _unique([options], language, rng, used)
    if action == "follow_up":
        if decision.follow_up:
            bodies = [one_question(decision.follow_up)]
        else:
            topic = question_topic(item, language)
            bodies = [t.format(topic=topic) for t in templates("follow_up_generic", language)]
        return _unique([templates("follow_up_prefix", language), bodies], language, rng, used)
    if action == "answer_candidate":
        return _unique([templates("cq_answer", language), templates("cq_more", language)], language, rng, used)
    lead = templates(f"stage.{decision.stage}", language) if decision.stage_changed else templates("next", language)
    parts = [lead, [question]]
    if decision.answers_candidate:
        parts = [templates("cq_answer", language), *parts]
    return _unique(parts, language, rng, used)
