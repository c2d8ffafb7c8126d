"""The built-in evaluator: what an answer says about each key point, with the candidate's own sentences as evidence.

Every key point is decided once, from the sentences of the answer:
- covered: a sentence explains it (a claim with a relation, a cause, a mechanism or an example);
- unclear ("not clearly covered"): it is only named, in a list of terms or a run of keywords, or the sentence that
  names it was pasted from the question or repeated from an earlier answer;
- missed: nothing in the answer names it.
`covered`, `unclear` and `missed` all come from that one decision, so a report can never quote a point as missed.
Matching survives paraphrase and inflection (core.interviewer.text) and the field's concept groups.
Besides the points, the evaluator finds asserted misconceptions, keyword lists, echoes of the question, injected
instructions, empty, nonsense and off-topic answers. Deterministic: the same answer always gives the same result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from core.interviewer import text as tx
from core.models import SCORED_STAGES

FLAGS = ("empty", "gibberish", "off_topic", "injection", "misconception", "keyword_list", "echo", "repeated")
INJECTION_PENALTY = 1.0  # an answer that tries to steer the grader scores lower than the same answer without it
MISCONCEPTION_CAP = 1.5  # an answer asserting a known misconception never scores above this
# Short pieces per 100 characters from which an answer counts as strung-together terms (calibrated on the coach
# panel's dev half: its good answers stay at or below 1.0 / 2.1, its keyword-stuffed ones start at 1.6 / 4.9).
FRAGMENTED = {"en": 1.8, "zh-CN": 4.2}
KEYWORD_ANSWER_FACTOR, KEYWORD_ANSWER_CAP = 0.5, 2.0
MIN_FRAGMENTS = 5  # a short answer's one enumeration is not an answer made of them
MAX_EXPLAINED_IN_STUFFING = 2  # an answer with three sentences that explain something is not strung-together terms
UNCLEAR_CREDIT = 0.3  # a point only named counts this much of a covered one
STRONG, WEAK = 3.8, 2.0  # score bands the workflow uses: a deeper follow-up above, a simpler rephrase below


# One key point's decision, with the sentences that support it (verbatim quotes of the candidate's answer).
@dataclass
class PointDecision:
    point: str
    status: str  # covered | unclear | missed
    evidence: list[str] = field(default_factory=list)
    said: str = ""  # the candidate's own words that named it (a verbatim substring), for follow-ups

    def public(self) -> dict:
        return {"point": self.point, "status": self.status, "evidence": list(self.evidence)}


# A misconception the answer asserts, with the sentence that asserts it.
@dataclass
class Asserted:
    claim: str
    challenge: str
    correction: str
    evidence: str


# The interviewer's private judgement of one answer (never shown during the interview).
@dataclass
class AnswerEvaluation:
    score: float
    evidence: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)
    points: list[PointDecision] = field(default_factory=list)
    misconception: Asserted | None = None
    coverage: float = 0.0
    length: float = 0.0
    specificity: float = 0.0
    structure: float = 0.0
    substantive: bool = True  # the newest message says something gradable (not empty/nonsense/off-topic/injection)
    any_substance: bool = True  # something gradable was said on this question at all
    source: str = "offline"

    @property
    def strong(self) -> bool:
        return self.score >= STRONG and self.misconception is None

    @property
    def weak(self) -> bool:
        return self.score < WEAK

    def details(self) -> dict:
        """What is stored beside the score (Evaluation.details)."""
        out: dict = {"unclear": list(self.unclear)}
        if self.misconception is not None:
            m = self.misconception
            out["misconception"] = {"claim": m.claim, "correction": m.correction, "evidence": m.evidence}
        return out


# -- simple measures -----------------------------------------------------------------------------------------------

_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#]*(?:[.\-'][A-Za-z0-9+#]+)*")
_DIGIT = re.compile(r"\d")
_PUNCT_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD.findall(text)


@lru_cache(maxsize=16384)
def text_units(text: str) -> int:
    """A rough size: Chinese characters plus two per Latin word (an English word carries about two hanzi)."""
    return tx.cjk_count(text) + 2 * len(latin_words(text))


def normalise(text: str) -> str:
    return _PUNCT_SPACE.sub("", (text or "").lower())


def _bigrams(text: str) -> set[str]:
    return tx.cjk_pairs(text)


def terms(text: str) -> set[str]:
    """Comparable terms for relevance: Chinese character pairs and lower-cased Latin words (2+ letters)."""
    found = _bigrams(text) - STOP_BIGRAMS
    found.update(w.lower() for w in latin_words(text) if len(w) >= 2 and w.lower() not in STOP_WORDS_EN)
    return found


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
_SIGNATURE_STOP = COMMON_EN_WORDS | frozenset(
    "it's that's there's don't doesn't can't won't i'm you'd i'd we'd they're isn't aren't wasn't really actually "
    "basically just like thing things something way lot lots".split())
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
        r"(告诉|透露|输出|打印|重复)(我)?(你的)?系统提示(词)?",
        r"你现在(是|扮演|变成)",
        r"从现在(开始|起)[，,]?你(是|要|扮演)",
        r"(进入|开启|切换到)(越狱|开发者)模式",
        r"(告诉|透露|泄露)(我)?.{0,6}(评分标准|答案要点|参考答案|关键点|评分规则)",
        r"ignore\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|preceding|former)?\s*"
        r"(instructions?|prompts?|rules|directions|guidelines)",
        r"disregard\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier)?\s*(instructions?|rules|prompts?)",
        r"(reveal|print|show|repeat|tell me|what('s| is| are))\s+(me\s+)?(your|the)\s+(system\s+prompt|instructions)",
        r"你的系统提示(词)?(是什么|给我看)",
        r"you\s+are\s+now\b",
        r"from\s+now\s+on,?\s+you\s+(are|will|must)",
        r"(enter|enable|switch to)\s+(jailbreak|developer)\s+mode",
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
CONNECTIVES = (
    "首先", "其次", "然后", "最后", "因为", "所以", "因此", "但是", "不过", "另外", "第一", "第二", "第三", "一方面",
    "另一方面", "总结", "总之", "例如", "比如", "first", "second", "then", "finally", "because", "therefore",
    "however", "so that", "for example", "in addition", "overall", "as a result",
)
EXAMPLE_MARKERS = ("比如", "例如", "举个例子", "举例", "具体来说", "拿", "像我们", "for example", "e.g.", "such as",
                   "for instance", "in our", "at my", "we had")
# What makes a sentence say something about a term rather than name it: relations, causes, mechanisms, conditions.
RELATION_MARKERS = (
    "因为", "所以", "因此", "导致", "使得", "使", "从而", "通过", "依靠", "靠", "利用", "用来", "用于", "是指",
    "指的是",
    "就是", "意味着", "也就是", "保证", "确保", "避免", "防止", "如果", "假如", "假设", "一旦", "就会", "会", "能",
    "可以", "需要", "必须", "比如", "例如", "相当于", "取决于", "而不是", "否则", "才", "先", "再", "之后", "之前",
    "时候", "实现", "记录", "让", "把", "被", "对", "给", "用", "在", "只", "不", "没", "要", "都", "叫", "算", "做",
    "because", "so ", "therefore", "which", "means", "mean", "by ", "when", "if ", "unless", "ensure", "prevent",
    "avoid", "so that", "via", "through", "using", " uses", " use ", "lets", "allow", "makes", "cause", "instead",
    "rather than", "otherwise", "until", "after", "before", "while", " is ", " are ", " was ", " can ", " will ",
    " would ", " should ", " must ", " need", " keep", " store", " write", " read", " check", " compare", " get",
    " give", " take", " return", " call", " run", " send", " set", " split", " measure",
)
_RELATION = re.compile("|".join(re.escape(m) for m in sorted(RELATION_MARKERS, key=len, reverse=True)))
_LIST_SEPARATORS = re.compile(r"[、,，;；/|]|\s+and\s+|\s+or\s+")
LIST_ITEM_UNITS = 6  # an item of a list of terms is this short (three English words)
_ARTICLES = re.compile(r"\b(the|a|an)\s+", re.IGNORECASE)
_ENUMERATION_GLUE = re.compile(r"^[\s,，、;；/|和及与以及还有或]*(and|or|as well as|plus)?[\s,，、;；/|和及与或]*$",
                               re.IGNORECASE)
# A negation right before a cue ("不是前端校验就行", "it's not enough to") cancels it; "别" only on its own (级别,
# 区别, 别人 are not negations).
_NEGATED_ZH = re.compile(r"(不|没有?|并不|并非|不是|不能|不会|无法|未|(?<![级区分特类个性派])别)\s*$")
_NEGATED_EN = re.compile(
    r"\b(not|never|no|without|cannot|isn't|aren't|doesn't|don't|didn't|won't|can't)\b\W*(\w+\W+){0,2}$", re.IGNORECASE)
# Words near a misconception's cue that show the speaker rejects it ("只做前端校验是不够的").
REJECTIONS = ("是不够的", "还不够", "远远不够", "并不够", "是不行的", "不行的", "没用的", "是不对的", "是错的",
              "是错误的", "误区", "误解", "不能只", "并不", "不一定", "不等于", "不代表", "not enough", "isn't enough",
              "insufficient", "won't work", "doesn't work", "is wrong", "are wrong", "that's wrong", "myth",
              "misconception", "not sufficient", "not necessarily", "doesn't mean", "does not mean",
              # advice against it ("要避免注册数、累计用户这类虚荣指标")
              "要避免", "应该避免", "应当避免", "避免用", "避免选", "不要用", "不要选", "虚荣指标", "should avoid",
              "vanity metric", "steer clear")
DENIALS = re.compile(
    r"(没有?(遇到|碰到|经历|发生)过|从来?没有?(遇到|碰到|经历|发生|有过|和|跟|与|什么)|没什么(冲突|矛盾|分歧)|"
    r"基本(上)?没有?(遇到|碰到|经历|发生|有过|过|什么(冲突|矛盾|分歧))|没怎么(遇到|有过)|"
    r"想不(起来|到)|不记得有|"
    r"never (really )?(had|been|faced|experienced|happened)|haven't (really )?(had|faced|experienced)|"
    r"can't (think|recall|remember)|don't (recall|remember) (any|a time)|no such (experience|situation)|"
    r"not really had)",
    re.IGNORECASE,
)


# -- rule checks ---------------------------------------------------------------------------------------------------


# A sentence that talks about prompt injection (an AI candidate explaining the attack) is an answer, not an attack.
_DISCUSSES_INJECTION = re.compile(r"攻击者|注入|防御|防范|比如|例如|举例|用户输入|恶意|越狱|inject|attack|defen[cs]e|"
                                  r"e\.g\.|for example|such as|malicious|user input|hijack|jailbreak", re.IGNORECASE)
# A phrase in quotes after a verb of saying is mentioned, not said: "a user typing 'ignore your previous instructions'".
_QUOTED = re.compile(r"(?:^|(?<=[\s:：,，(（]))(?:'[^'\n]{3,200}'(?![A-Za-z])|\"[^\"\n]{3,200}\"|“[^”\n]{3,200}”|"
                     r"‘[^’\n]{3,200}’|「[^」\n]{3,200}」|『[^』\n]{3,200}』)")


_MENTIONS = re.compile(r"typ(e|es|ed|ing)|say|said|writ|send|sent|past(e|es|ed|ing)|asks?|输入|说|写|发|贴|问",
                       re.IGNORECASE)


def find_injection(text: str) -> list[tuple[int, int]]:
    """Spans of text that try to instruct the interviewer or grader (not sentences that discuss such attacks)."""
    text = text or ""
    spans = [m.span() for pattern in INJECTION_PATTERNS for m in pattern.finditer(text)]
    if not spans:
        return spans
    discussing = [(a, b) for a, b in tx.sentence_spans(text) if _DISCUSSES_INJECTION.search(text[a:b])]
    discussing += [m.span() for m in _QUOTED.finditer(text) if _MENTIONS.search(text[max(0, m.start() - 40):m.start()])]
    return [(s, e) for s, e in spans if not any(a <= s and e <= b for a, b in discussing)]


def strip_injection(text: str) -> str:
    """The answer without the sentences that carry an injection (what we actually grade)."""
    spans = find_injection(text)
    if not spans:
        return text
    kept = [text[a:b] for a, b in tx.sentence_spans(text) if not any(s < b and e > a for s, e in spans)]
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
    if len(core) >= 4 and (len(set(core)) <= 2 or re.search(r"([^\d])\1{5,}", core)):
        return True
    words = latin_words(text)
    hanzi = tx.cjk_count(text)
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


def build_texts(question: Mapping, extra: Iterable[str] = ()) -> list[str]:
    texts = [question.get("question", ""), *question.get("tags", []), *question.get("follow_ups", []), *extra]
    for point in question.get("key_points", []):
        texts.append(point.get("point", ""))
        texts.extend(point.get("synonyms", []))
        texts += [point.get("model") or "", point.get("ask") or ""]  # the everyday words of the topic count too
    return texts


def build_vocabulary(question: Mapping, extra: Iterable[str] = ()) -> set[str]:
    """Terms of the question, its key points, synonyms, tags and follow-ups, the field, and interview basics."""
    return terms(" ".join(build_texts(question, extra))) | _generic_vocabulary()


@lru_cache(maxsize=1)
def _generic_vocabulary() -> frozenset[str]:
    return frozenset(terms(" ".join(GENERIC_INTERVIEW_TERMS)))


def known_words(question: Mapping, extra: Iterable[str] = ()) -> set[str]:
    """Latin words that are real in this context (tags, synonyms, field terms)."""
    words = {w.lower() for w in latin_words(" ".join(build_texts(question, extra)))}
    return words | {w for w in GENERIC_INTERVIEW_TERMS if w.isascii()}


def message_flags(text: str, *, question: Mapping, stage: str, language: str,
                  field_terms: Sequence[str] = ()) -> list[str]:
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


def star_score(text: str) -> float:
    lower = text.lower()
    return sum(any(m in lower for m in markers) for markers in _STAR_MARKERS.values()) / 4


def structure_score(text: str, stage: str) -> float:
    lower = text.lower()
    value = min(1.0, sum(1 for c in CONNECTIVES if c in lower) / 3)
    if stage in ("behavioral", "project"):
        value = 0.5 * value + 0.5 * star_score(text)
    return value


DENIAL_LEAD_SENTENCES = 2  # a denial opens the answer; "后来再没遇到过这个问题" at the end of a story is a result


def denies_experience(text: str) -> bool:
    """The candidate says they never had such an experience ("没遇到过冲突", "I've never had a conflict"): in one of
    the answer's first sentences, not as the outcome of a story it tells ("相关投诉基本没有了")."""
    text = text or ""
    lead = tx.sentence_spans(text)[:DENIAL_LEAD_SENTENCES]
    return any(DENIALS.search(text, start, end) for start, end in lead)


# -- the question, compiled for matching ---------------------------------------------------------------------------


# A key point's terms (its name, synonyms, and their concept-group fellows), compiled, and its signature: the
# telling words of its name, synonyms, model sentence and ask, weighted by how rare they are in its bank. An answer
# sentence in other words than the synonyms still shares the signature's vocabulary ("a hidden factor driving both"
# ~ "a confounder: related both to the group and the outcome").
@dataclass(frozen=True)
class _PointSpec:
    point: str
    terms: tuple[tx.Term, ...]
    signature: Mapping[str, float] = field(default_factory=dict)
    mass: float = 0.0  # the weight of the signature's SIGNATURE_TOP strongest words


SIGNATURE_TOP = 6
SIGNATURE_STRONG = 0.3  # share of a point's signature mass a sentence must hold to name the point in its own words
SIGNATURE_WEAK = 0.18  # ... to be related to it: "not clearly covered" rather than "missed"
SIGNATURE_MIN_WORDS = 2
_SIGNATURE_SOURCES = (("point", 1.0), ("synonyms", 1.0), ("model", 0.7), ("ask", 0.4))
QUESTION_ECHO_WEIGHT = 0.4  # words of the question itself say less: candidates repeat them


@lru_cache(maxsize=8192)
def signature_words(text: str) -> frozenset[str]:
    """The telling words of a text: English stems and Chinese character pairs, without stop and interview words."""
    stop = _signature_stop_stems()
    words = {t.key for t in tx._tokens(text) if len(t.key) >= 3 and not t.key[0].isdigit() and t.key not in stop
             and not t.cjk}
    return frozenset(words | (tx._cjk_pairs(text) - STOP_BIGRAMS - _generic_vocabulary()))


@lru_cache(maxsize=1)
def _signature_stop_stems() -> frozenset[str]:
    return frozenset(tx.stem(word) for word in _SIGNATURE_STOP) | _SIGNATURE_STOP


# A bank's vocabulary: its concept groups, and how telling each word is (rare across the bank's key points).
@dataclass(frozen=True)
class Vocabulary:
    concepts: Mapping[str, tuple[str, ...]]
    idf: Mapping[str, float]
    default_idf: float


def build_vocabulary_index(groups: Iterable[Sequence[str]], key_points: Iterable[Mapping]) -> Vocabulary:
    """Concept index plus inverse document frequencies over the bank's key points (name, synonyms, model, ask)."""
    documents = [signature_words(" ".join([str(p.get("point", "")), *(p.get("synonyms") or []),
                                           str(p.get("model") or ""), str(p.get("ask") or "")]))
                 for p in key_points]
    frequency: dict[str, int] = {}
    for words in documents:
        for word in words:
            frequency[word] = frequency.get(word, 0) + 1
    n = len(documents) + 1
    idf = {word: math.log(n / (count + 1)) + 0.5 for word, count in frequency.items()}
    return Vocabulary(concept_index(groups), idf, math.log(n) + 0.5)


# A misconception compiled: cue groups (each a set of terms that must share a sentence) and rejections.
@dataclass(frozen=True)
class _MisconceptionSpec:
    claim: str
    cues: tuple[tuple[tx.Term, ...], ...]
    unless: tuple[tx.Term, ...]
    challenge: str
    correction: str


# Everything the evaluator needs from a question, built once per (question, concept groups).
@dataclass(frozen=True)
class QuestionSpec:
    points: tuple[_PointSpec, ...]
    misconceptions: tuple[_MisconceptionSpec, ...]
    question_pairs: frozenset[str]
    question_words: frozenset[str]
    question_signature: frozenset[str] = frozenset()
    question_tokens: tuple[tx.Token, ...] = ()


def concept_index(groups: Iterable[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """folded word → every word of its concept group(s)."""
    index: dict[str, list[str]] = {}
    for group in groups:
        for word in group:
            index.setdefault(tx.fold(word).strip(), []).extend(w for w in group if w != word)
    return {word: tuple(dict.fromkeys(others)) for word, others in index.items()}


def _expanded(words: Iterable[str], concepts: Mapping[str, tuple[str, ...]]) -> tuple[tx.Term, ...]:
    seen: dict[str, tx.Term] = {}
    for word in words:
        for variant in (word, *concepts.get(tx.fold(word).strip(), ())):
            term = tx.compile_term(variant)
            if term.keys and term.keys not in seen:
                seen[term.keys] = term
    return tuple(seen.values())


def _signature(point: Mapping, question_words: set[str], vocabulary: Vocabulary | None) -> tuple[dict, float]:
    weights: dict[str, float] = {}
    for source, weight in _SIGNATURE_SOURCES:
        value = point.get(source) or ""
        text = " ".join(value) if isinstance(value, list | tuple) else str(value)
        for word in signature_words(text):
            idf = vocabulary.idf.get(word, vocabulary.default_idf) if vocabulary else 1.0
            w = weight * idf * (QUESTION_ECHO_WEIGHT if word in question_words else 1.0)
            weights[word] = max(weights.get(word, 0.0), w)
    return weights, sum(sorted(weights.values(), reverse=True)[:SIGNATURE_TOP])


def compile_question(question: Mapping, concepts: Mapping[str, tuple[str, ...]] | None = None,
                     vocabulary: Vocabulary | None = None) -> QuestionSpec:
    # Cached on the production path only: bank vocabularies live as long as the process (their id is stable).
    key = None
    if concepts is None and vocabulary is not None:
        key = (str(question.get("id", "")), str(question.get("question", "")), repr(question.get("key_points")),
               repr(question.get("misconceptions")), id(vocabulary))
        if (cached := _COMPILED.get(key)) is not None:
            return cached
    concepts = concepts if concepts is not None else (vocabulary.concepts if vocabulary else {})
    question_words = signature_words(str(question.get("question", "")))
    points = tuple(
        _PointSpec(str(p.get("point", "")), _expanded([p.get("point", ""), *(p.get("synonyms") or [])], concepts),
                   *_signature(p, question_words, vocabulary))
        for p in question.get("key_points") or []
    )
    misconceptions = tuple(
        _MisconceptionSpec(
            claim=str(m.get("claim", "")),
            cues=tuple(tuple(tx.compile_term(part.strip()) for part in cue.split("&")) for cue in m.get("cues") or []),
            unless=tuple(tx.compile_term(u) for u in m.get("unless") or []),
            challenge=str(m.get("challenge", "")), correction=str(m.get("correction", "")),
        )
        for m in question.get("misconceptions") or []
    )
    text = str(question.get("question", ""))
    spec = QuestionSpec(points, misconceptions, frozenset(tx.cjk_pairs(text)),
                        frozenset(t.key for t in tx.tokens(text) if not t.cjk), frozenset(question_words),
                        tuple(tx.tokens(text)))
    if key is not None:
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        _COMPILED[key] = spec
    return spec


_COMPILED: dict[tuple, QuestionSpec] = {}  # plan items are stable per id: compile each once per vocabulary


# -- sentences -----------------------------------------------------------------------------------------------------


# One sentence of an answer, with its tokens and what the evaluator found in it.
@dataclass
class _Sentence:
    text: str  # the whole answer this sentence belongs to
    span: tuple[int, int]
    tokens: list[tx.Token]
    index: dict[str, list[int]]
    hits: dict[int, tuple[int, int]] = field(default_factory=dict)  # point index → character span of its match
    related: set[int] = field(default_factory=set)  # points the sentence is related to, weakly
    by_term: set[int] = field(default_factory=set)  # points named by one of their terms (not only by signature)
    explains: dict[int, bool] = field(default_factory=dict)  # _explains per point (-1: the sentence as a whole)

    @property
    def pairs(self) -> frozenset[str]:
        return tx._cjk_pairs(self.words)
    term_spans: list[tuple[int, int]] = field(default_factory=list)  # every key-point term found, any point
    listed: bool = False
    echo: bool = False
    repeated: bool = False

    @property
    def words(self) -> str:
        return self.text[self.span[0]:self.span[1]]


def _sentences(answer: str) -> list[_Sentence]:
    out = []
    injected = find_injection(answer)
    for a, b in tx.sentence_spans(answer):
        if any(s < b and e > a for s, e in injected):
            continue  # an injection sentence is never graded or quoted
        toks = tx.tokens(answer[a:b])
        toks = [tx.Token(t.key, t.start + a, t.end + a) for t in toks]
        index: dict[str, list[int]] = {}
        for i, t in enumerate(toks):
            index.setdefault(t.key, []).append(i)
        out.append(_Sentence(answer, (a, b), toks, index))
    return out


@lru_cache(maxsize=16384)
def _content_size(text: str) -> int:
    return tx.cjk_count(text) + sum(len(w) for w in latin_words(text))


def _is_list(sentence: _Sentence) -> bool:
    """Terms named one after another and little else: "原子性、一致性、隔离性、持久性", "ACID, MVCC and WAL".

    An explanation may enumerate too ("setTimeout、setInterval 和 UI 事件回调属于宏任务"), but then the clauses
    around the items say something: a list is a sentence whose short items are nearly all of it."""
    parts = [p.strip(" 。.!！?？:：") for p in _LIST_SEPARATORS.split(sentence.words)]
    sizes = [text_units(_ARTICLES.sub("", p)) for p in parts if p]  # "the kidney stone study" is a short item
    items = [size for size in sizes if size <= LIST_ITEM_UNITS]
    if len(items) < 3:
        return False
    rest = sum(sizes) - sum(items)
    # Short items nearly all of it, or a long run of them behind a lead-in ("With a limited budget you use active
    # learning, uncertainty sampling, diversity sampling, weak supervision, ...").
    return rest <= max(4, 0.25 * sum(sizes)) or (len(items) >= 5 and sum(items) >= 0.5 * sum(sizes))


def _term_density(sentence: _Sentence, span: tuple[int, int] | None = None) -> float:
    """Share of the sentence's (or the span's) content that is key-point terms."""
    start, stop = span or sentence.span
    covered = sorted((max(a, start), min(b, stop)) for a, b in sentence.term_spans if a < stop and b > start)
    chars, end = 0, -1
    for a, b in covered:
        a = max(a, end)
        if b > a:
            chars += _content_size(sentence.text[a:b])
            end = b
    return chars / max(1, _content_size(sentence.text[start:stop]))


def _enumerated(sentence: _Sentence) -> set[int]:
    """Points whose names follow one another with nothing but list glue between them, three or more in a row."""
    named = sorted((span, i) for i, span in sentence.hits.items() if i in sentence.by_term)
    runs: list[list[int]] = []
    previous_end = None
    for (start, end), i in named:
        glue = sentence.text[previous_end:start] if previous_end is not None else None
        if glue is not None and (start >= previous_end and _ENUMERATION_GLUE.match(glue)):
            runs[-1].append(i)
        else:
            runs.append([i])
        previous_end = max(end, previous_end or end)
    return {i for run in runs if len(run) >= 3 for i in run}


def _says_something(text: str, density: float, points: int) -> bool:
    """Not nothing but terms, not several points' keywords strung together, and a relation or some substance."""
    if density >= 0.85 or (points >= 3 and density >= 0.5):
        return False  # "原子性。", "原子性通过隔离性的持久性保证一致性的 redo log 提交"
    outside = _content_size(text) * (1 - density)
    return outside >= 4 and (_RELATION.search(f" {text.lower()} ") is not None or outside >= 10)


def _explains(sentence: _Sentence, index: int | None = None) -> bool:
    """The sentence says something about what it names: not a list, not a run of keywords, a relation in it. A
    dense sentence that explains several points clause by clause ("recency is ..., frequency is ...") explains each
    point whose own clause does."""
    key = -1 if index is None else index
    if key not in sentence.explains:
        sentence.explains[key] = _explains_uncached(sentence, index)
    return sentence.explains[key]


def _explains_uncached(sentence: _Sentence, index: int | None) -> bool:
    if sentence.listed or sentence.echo or sentence.repeated:
        return False
    if index is not None and index in _enumerated(sentence):
        return False  # "The four levels are Read Uncommitted, Read Committed, Repeatable Read and Serializable"
    if _says_something(sentence.words, _term_density(sentence), len(sentence.by_term)):
        return True  # (points named in their own words by the signature are not keywords strung together)
    if index is None or index not in sentence.hits or sentence.hits[index] == sentence.span:
        return False
    hit = sentence.hits[index]
    clause = next((c for c in tx.clause_spans(sentence.text, *sentence.span) if c[0] <= hit[0] < c[1]), None)
    if clause is None or clause == sentence.span:
        return False
    points = sum(1 for i, (a, _) in sentence.hits.items() if i in sentence.by_term and clause[0] <= a < clause[1])
    return _says_something(sentence.text[clause[0]:clause[1]], _term_density(sentence, clause), points)


def _echoes_question(sentence: _Sentence, spec: QuestionSpec) -> bool:
    pairs = tx.cjk_pairs(sentence.words)
    if len(pairs) >= 6 and len(pairs & spec.question_pairs) / len(pairs) >= 0.7:
        return True
    words = [t.key for t in sentence.tokens if not t.cjk and t.key not in ("a", "an", "the")]
    return len(words) >= 6 and sum(w in spec.question_words for w in words) / len(words) >= 0.8


def _negated_before(sentence: _Sentence, position: int) -> bool:
    start = sentence.tokens[max(0, position - 4)].start if position else sentence.tokens[position].start
    before = sentence.text[start:sentence.tokens[position].start]
    return bool(_NEGATED_ZH.search(before) or _NEGATED_EN.search(before))


def _asserts(sentence: _Sentence, m: _MisconceptionSpec, context: Sequence[_Sentence] = (),
             spec: QuestionSpec | None = None) -> bool:
    """The sentence asserts the misconception: every part of one of its cues is in it, none negated, and no
    rejection or `unless` term.

    A cue's subject may stand outside the sentence when the question names it and the answer does too: asked about
    WHERE and HAVING, "They basically do the same thing." asserts "where & having & same thing" as surely as a
    sentence naming both. At least one part has to be in the sentence itself, and the sentence must not name a
    subject of its own from the question ("The complex model belongs in ranking; retrieval needs to be fast" is
    about ranking, whatever the next clause says)."""
    for cue in m.cues:
        found = [tx.find_term(sentence.tokens, part, index=sentence.index) for part in cue]
        if any(f is not None and _negated_before(sentence, f[0]) for f in found):
            continue
        implied = not all(found)
        if implied and not (
                spec is not None and len(cue) > 1 and any(found) and not _own_subject(sentence, cue, spec)
                and all(f is not None or _implied(part, context, spec) for part, f in zip(cue, found, strict=True))):
            continue
        if _rejected(sentence, m, [f for f in found if f is not None]):
            continue
        if implied and (before := _previous(sentence, context)) is not None and _rejected(before, m, None):
            continue  # "An interface only exists at compile time; at runtime there's nothing to check."
        return True
    return False


def _previous(sentence: _Sentence, context: Sequence[_Sentence]) -> _Sentence | None:
    for earlier, s in zip(context, context[1:], strict=False):
        if s is sentence and earlier.text is sentence.text:
            return earlier
    return None


def _rejected(sentence: _Sentence, m: _MisconceptionSpec, found: Sequence[tuple[int, int]] | None) -> bool:
    """A rejection ("是不够的", "is wrong") or one of the misconception's `unless` terms where the claim is made: in
    the clauses holding the cue or right next to them ("扩容也没用，因为同一个 key 只在一个节点上"). A clause
    elsewhere in a long sentence ("热 key 把一个节点打满，……，我会直接扩容，多加节点把压力分摊开") says nothing
    about the claim. Without `found`, the whole sentence."""
    if found is None:
        lower = sentence.words.lower()
        return any(r in lower for r in REJECTIONS) or any(
            tx.find_term(sentence.tokens, u, index=sentence.index) for u in m.unless)
    clauses = tx.clause_spans(sentence.text, *sentence.span)
    positions = [sentence.tokens[i].start for f in found for i in f]
    held = [k for k, (a, b) in enumerate(clauses) if any(a <= p < b for p in positions)]
    if not held:
        return False
    start, stop = clauses[max(min(held) - 1, 0)][0], clauses[min(max(held) + 1, len(clauses) - 1)][1]
    if any(r in sentence.text[start:stop].lower() for r in REJECTIONS):
        return True
    scope = [t for t in sentence.tokens if start <= t.start < stop]
    return any(tx.find_term(scope, u) for u in m.unless)


def _implied(part: tx.Term, context: Sequence[_Sentence], spec: QuestionSpec) -> bool:
    """A cue part the question asks about and the answer names somewhere (its subject, not its claim)."""
    return tx.find_term(spec.question_tokens, part) is not None and any(
        tx.find_term(s.tokens, part, index=s.index) is not None for s in context)


def _own_subject(sentence: _Sentence, cue: Sequence[tx.Term], spec: QuestionSpec) -> bool:
    """The sentence names something the question asks about, other than the cue's own parts."""
    cue_words = signature_words(" ".join(part.text for part in cue))
    if (signature_words(sentence.words) & spec.question_signature) - cue_words:
        return True
    # Names with digits (L1 vs L2, HTTP/1.1 vs HTTP/2) carry no signature but are what such questions contrast.
    cue_keys = {key for part in cue for key in part.keys}
    named = {t.key for t in sentence.tokens if _DIGIT.search(t.key) and not t.key.isdigit()}
    return bool(named & spec.question_words - cue_keys)


# -- evaluation ----------------------------------------------------------------------------------------------------

_WEIGHTS = {  # coverage, depth, specificity, structure (sum 1)
    "technical": (0.75, 0.15, 0.05, 0.05),
    "project": (0.55, 0.1, 0.2, 0.15),
    "behavioral": (0.5, 0.1, 0.15, 0.25),
    "self_intro": (0.55, 0.05, 0.25, 0.15),
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|ms|毫秒|秒|分钟|小时|天|周|倍|万|千|亿|k\b|w\b|qps|tps|x\b|个|人|次)",
                     re.IGNORECASE)


# Numbers in Chinese words count as figures too ("十几条投诉", "三四次", "从二十多条降到一两条", "两周"); a lone 一
# ("一个问题", "一次") does not.
_CJK_NUMBER = re.compile(r"(?:[两二三四五六七八九十百千万]|一[两二三四五六七八九十])[一二两三四五六七八九十百千万几多]*"
                         r"[个条次人天周月年倍家场支项份页行件分秒]")


def specificity(text: str, known: set[str]) -> float:
    score = 0.0
    if _NUMBER.search(text) or _DIGIT.search(text) or _CJK_NUMBER.search(text):
        score += 0.4
    tech = [w for w in latin_words(text) if w.lower() in known or (w[0].isupper() and w.lower() not in COMMON_EN_WORDS)]
    score += 0.4 if len(tech) >= 2 else 0.2 if tech else 0.0
    if any(marker in text.lower() for marker in EXAMPLE_MARKERS):
        score += 0.2
    return min(1.0, score)


def evaluate_answer(
    *, answers: Sequence[str], question: Mapping, stage: str, language: str, field_terms: Sequence[str] = (),
    concepts: Mapping[str, tuple[str, ...]] | None = None, earlier: Sequence[str] = (),
    vocabulary: Vocabulary | None = None,
) -> AnswerEvaluation:
    """Score everything the candidate said on one question (0–5) from one decision per key point.

    The flags describe the newest message; the decisions and the score cover all messages on the question that carry
    content (a follow-up answer can fill gaps, a nonsense reply adds nothing). `earlier` holds the candidate's
    answers to other questions: a sentence repeated from them earns nothing again.
    """
    answers = list(answers) or [""]
    per_message = [message_flags(a, question=question, stage=stage, language=language, field_terms=field_terms)
                   for a in answers]
    flags = list(per_message[-1])
    spec = compile_question(question, concepts, vocabulary)
    if stage in SCORED_STAGES and spec.misconceptions:
        # A short wrong claim shares few words with the question, but asserting one of its misconceptions is on
        # topic by definition: it is graded (and challenged), not steered back as off-topic.
        for flags_of, answer in zip(per_message, answers, strict=True):
            if "off_topic" in flags_of and _misconception(_sentences(answer), spec) is not None:
                flags_of.remove("off_topic")
        flags = list(per_message[-1])
    useful = [a for a, f in zip(answers, per_message, strict=True) if not {"empty", "gibberish", "off_topic"} & set(f)]
    earlier_sentences = {normalise(s) for text in earlier for s in _split(text) if len(normalise(s)) >= 8}
    sentences = [s for answer in useful for s in _sentences(answer)]
    for s in sentences:
        s.echo = _echoes_question(s, spec)
        s.repeated = normalise(s.words) in earlier_sentences
        s.listed = _is_list(s)
        for i, point in enumerate(spec.points):
            for term in point.terms:
                found = tx.find_term(s.tokens, term, index=s.index)
                if found:
                    span = (s.tokens[found[0]].start, s.tokens[found[1]].end)
                    s.hits.setdefault(i, span)
                    s.by_term.add(i)
                    s.term_spans.append(span)
            if i not in s.hits and any(t.pairs and tx.pair_share(s.pairs, t) >= tx.FUZZY_SHARE for t in point.terms):
                s.hits[i] = s.span
        _match_signatures(s, spec)
    decisions = [_decide(i, point.point, sentences) for i, point in enumerate(spec.points)]
    graded = "\n".join(s.words for s in sentences if not (s.echo or s.repeated))
    asserted = _misconception(sentences, spec) if stage in SCORED_STAGES else None
    known = known_words(question, field_terms)
    length = min(1.0, text_units(graded) / 120) if graded else 0.0
    spec_score = specificity(graded, known) if graded else 0.0
    structure = structure_score(graded, stage) if graded else 0.0
    coverage = _coverage(decisions, spec.points)
    if stage in ("behavioral", "project") and spec.points:
        # The key points of a story question are its parts (what happened, what you did, the result): a story told
        # in plain words that covers them is structured, whether or not it says "背景" or "结果".
        structure = max(structure, 0.5 * structure + 0.5 * coverage)
    explained = [s for s in sentences if _explains(s)]
    depth = min(1.0, sum(1 for s in explained if any(m in s.words.lower() for m in EXAMPLE_MARKERS)
                             or _DIGIT.search(s.words)) / 2 + 0.25 * min(2, len(explained)))
    score = _score(stage, coverage, depth, spec_score, structure, length, bool(spec.points)) if graded else 0.0
    named = [s for s in sentences if s.hits]
    stuffed = (fragmentation(sentences) >= FRAGMENTED.get(language, FRAGMENTED["zh-CN"])
               and len(explained) <= MAX_EXPLAINED_IN_STUFFING)
    if stuffed or (named and sum(1 for s in named if not _explains(s)) / len(named) >= 0.6 and coverage < 0.5):
        flags.append("keyword_list")
    if stuffed:  # an answer made of strings of terms scores low whatever it names
        score = min(score * KEYWORD_ANSWER_FACTOR, KEYWORD_ANSWER_CAP)
    if sentences and all(s.echo for s in sentences):
        flags.append("echo")
    if sentences and all(s.repeated for s in sentences):
        flags.append("repeated")
    if asserted is not None:
        flags.append("misconception")
        score = min(score, MISCONCEPTION_CAP)
    if any("injection" in f for f in per_message):
        score -= INJECTION_PENALTY
    score = round(max(0.0, min(5.0, score)), 1)
    nonsense = {"empty", "gibberish", "off_topic"} & set(flags)
    newest = [s for s in _sentences(answers[-1]) if not _echoes_question(s, spec)]
    evidence = list(dict.fromkeys(q for d in decisions if d.status == "covered" for q in d.evidence))[:5]
    return AnswerEvaluation(
        score=score, evidence=evidence, flags=list(dict.fromkeys(flags)), points=decisions,
        covered=[d.point for d in decisions if d.status == "covered"],
        unclear=[d.point for d in decisions if d.status == "unclear"],
        missed=[d.point for d in decisions if d.status == "missed"],
        misconception=asserted, coverage=round(coverage, 3), length=round(length, 3),
        specificity=round(spec_score, 3), structure=round(structure, 3),
        substantive=not nonsense and bool(newest), any_substance=bool(graded.strip()),
    )


def _match_signatures(sentence: _Sentence, spec: QuestionSpec) -> None:
    """Points the sentence names in its own words (most of a point's signature) or is related to (some of it)."""
    words = signature_words(sentence.words)
    # Words of a point the sentence names by its terms belong to that point: 一致性's signature mentions 原子性, but
    # a sentence about 原子性 is not about 一致性.
    claimed = {w for i in sentence.by_term for w in spec.points[i].signature}
    for i, point in enumerate(spec.points):
        if i in sentence.hits or not point.mass:
            continue
        shared = (words & point.signature.keys()) - claimed
        if len(shared - spec.question_signature) < SIGNATURE_MIN_WORDS:
            continue  # echoing the question's own words is not saying anything about the point
        share = sum(point.signature[w] for w in shared) / point.mass
        if share >= SIGNATURE_STRONG:
            sentence.hits[i] = sentence.span
        elif share >= SIGNATURE_WEAK:
            sentence.related.add(i)


def fragmentation(sentences: Sequence[_Sentence]) -> float:
    """Short pieces (three words, six characters or fewer between commas) per 100 characters of content: an answer
    that strings terms together ("guardrails, input sanitisation, output filtering, least privilege, ...") is made
    of them; an explanation is not."""
    items = size = 0
    for s in sentences:
        size += _content_size(s.words)
        parts = [p for p in _LIST_SEPARATORS.split(s.words) if p.strip()]
        items += sum(1 for p in parts if text_units(_ARTICLES.sub("", p)) <= LIST_ITEM_UNITS)
    return 100 * items / size if size and items >= MIN_FRAGMENTS else 0.0


def _split(text: str) -> list[str]:
    return [text[a:b] for a, b in tx.sentence_spans(text)]


def _decide(index: int, name: str, sentences: list[_Sentence]) -> PointDecision:
    naming = [s for s in sentences if index in s.hits]
    if not naming:
        related = [s for s in sentences if index in s.related and not (s.echo or s.repeated)]
        if related:  # something close was said: "not clearly covered", never "missed"
            return PointDecision(name, "unclear", [tx.quote(related[0].text, related[0].span)])
        return PointDecision(name, "missed")
    explaining = [s for s in naming if _explains(s, index)]
    chosen = sorted(explaining or naming, key=lambda s: index not in s.by_term)  # its own words first
    quotes = list(dict.fromkeys(tx.quote(s.text, s.span, s.hits[index]) for s in chosen))[:2]
    first = chosen[0]
    a, b = first.hits[index]
    said = first.text[a:b] if (a, b) != first.span else ""
    return PointDecision(name, "covered" if explaining else "unclear", quotes, said)


def _coverage(decisions: list[PointDecision], points: Sequence[_PointSpec]) -> float:
    if not points:
        return 0.0
    credit = {"covered": 1.0, "unclear": UNCLEAR_CREDIT, "missed": 0.0}
    weights = [1.25 if i == 0 else 1.0 for i in range(len(decisions))]  # the first point matters most
    return sum(w * credit[d.status] for w, d in zip(weights, decisions, strict=True)) / sum(weights)


def _score(stage: str, coverage: float, depth: float, spec: float, structure: float, length: float,
           has_points: bool) -> float:
    w_cov, w_depth, w_spec, w_struct = _WEIGHTS.get(stage, (0.55, 0.1, 0.2, 0.15))
    cov = coverage if has_points else 0.5 * length + 0.5 * structure
    value = w_cov * cov + w_depth * depth * min(1.0, cov * 2) + w_spec * spec + w_struct * structure
    if length < 0.15:  # one line: whatever it names, it cannot be a full answer
        value *= 0.6 + 2 * length
    return 5 * value


def _misconception(sentences: list[_Sentence], spec: QuestionSpec) -> Asserted | None:
    for m in spec.misconceptions:
        for s in sentences:
            if _asserts(s, m, sentences, spec):
                return Asserted(m.claim, m.challenge, m.correction, tx.quote(s.text, s.span))
    return None


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
