"""Interview question banks: YAML files in data/question_banks, validated when loaded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from core.models import LANGUAGES, LEVELS, QUESTION_STAGES, SCORED_STAGES

FIELD_NAMES: dict[str, str] = {
    "frontend": "前端开发",
    "backend": "后端开发",
    "data": "数据分析",
    "product": "产品管理",
    "ai": "人工智能",
    "qa": "测试开发",
    "devops": "运维/DevOps",
}
GENERAL_KEY = "general"
GENERAL_NAME = "通用"
DEFAULT_LANGUAGE = "zh-CN"
MIN_TECHNICAL_QUESTIONS = 15  # any field bank (load_banks(complete=False) accepts drafts this large)
TARGET_TECHNICAL_QUESTIONS = 40  # an interview-ready field bank (content_problems; what load_banks requires)
DEFAULT_BANK_DIR = Path(__file__).resolve().parents[2] / "data" / "question_banks"
CACHE_DIR = Path(__file__).resolve().parents[2] / "data" / ".cache" / "banks"  # parsed banks (git-ignored)

Stage = Literal[QUESTION_STAGES]  # type: ignore[valid-type]
Level = Literal["junior", "mid", "senior", "any"]
Language = Literal["zh-CN", "en"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
QuestionId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]


class BankError(ValueError):
    """A question-bank file is unreadable, malformed or inconsistent; the message names the file."""


# Shared config: immutable (banks are cached and shared), unknown keys refused so typos surface.
class _BankModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# One thing a good answer covers: the words candidates use for it, how an interviewer asks for it when it is
# missing, and what a strong answer says about it (the report's outline is built from these, never the whole rubric).
class KeyPoint(_BankModel):
    point: Text
    synonyms: tuple[Text, ...] = ()
    ask: Text | None = None  # one interviewer question that invites exactly this point, e.g. when it was missed
    model: Text | None = None  # one or two sentences of a strong answer on this point, in prose

    @property
    def terms(self) -> tuple[str, ...]:
        """The point and its synonyms, lower-cased and de-duplicated, for substring matching."""
        return tuple(dict.fromkeys(term.lower() for term in (self.point, *self.synonyms)))


# A common wrong belief on a question: the phrases that assert it, the polite challenge an interviewer answers it
# with, and the correction the report gives.
class Misconception(_BankModel):
    claim: Text  # the wrong belief, as the report names it
    cues: tuple[Text, ...] = Field(min_length=1)  # a sentence asserting it contains one cue; "a&b": a and b together
    unless: tuple[Text, ...] = ()  # a sentence that also contains one of these does not assert it
    challenge: Text  # the interviewer's polite challenge, one question
    correction: Text  # what is actually true, one or two sentences

    @field_validator("cues", "unless")
    @classmethod
    def _no_empty_parts(cls, cues: tuple[str, ...]) -> tuple[str, ...]:
        for cue in cues:
            if any(not part.strip() for part in cue.split("&")):
                raise ValueError(f"cue {cue!r} has an empty part around '&'")
        return cues


# One interview question (a single ask), what a good answer covers, and how to probe a thin answer.
class Question(_BankModel):
    id: QuestionId
    stage: Stage
    level: Level = "any"
    question: Text
    key_points: tuple[KeyPoint, ...] = Field(min_length=1)  # most important first
    tags: tuple[Text, ...] = ()
    follow_ups: tuple[Text, ...] = Field(default=(), max_length=3)  # harder follow-ups a strong answer earns
    simpler: Text | None = None  # the same question asked more simply, for a weak answer (asked at most once)
    misconceptions: tuple[Misconception, ...] = ()

    @field_validator("tags")
    @classmethod
    def _lower_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.lower() for tag in tags)

    def interviewer_lines(self) -> list[str]:
        """Every line an interviewer may say for this question: each must ask exactly one question."""
        lines = [self.question, *self.follow_ups, *([self.simpler] if self.simpler else [])]
        lines += [point.ask for point in self.key_points if point.ask]
        return lines + [m.challenge for m in self.misconceptions]


# The content of one file: one field (or the general bank) in one language.
class QuestionBank(_BankModel):
    field: Text
    key: Text
    language: Language
    aliases: tuple[Text, ...] = ()
    # Groups of interchangeable words in this field ("加锁", "上锁", "lock"): a term matches any word of its group.
    concepts: tuple[tuple[Text, ...], ...] = ()
    questions: tuple[Question, ...] = Field(min_length=1)

    @field_validator("aliases")
    @classmethod
    def _normalize_aliases(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_normalize_text(alias) for alias in aliases)

    @field_validator("concepts")
    @classmethod
    def _real_groups(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in groups:
            if len(group) < 2:
                raise ValueError(f"a concept group needs at least two words: {list(group)}")
        return groups

    @model_validator(mode="after")
    def _known_field(self) -> QuestionBank:
        names = {**FIELD_NAMES, GENERAL_KEY: GENERAL_NAME}
        if self.key not in names:
            raise ValueError(f"unknown key {self.key!r}; expected one of {', '.join(names)}")
        if self.field != names[self.key]:
            raise ValueError(f"field for key {self.key!r} must be {names[self.key]!r}, not {self.field!r}")
        return self


# All banks of a directory, with look-ups by field, stage, level and question id.
class QuestionBanks:
    def __init__(self, banks: Iterable[QuestionBank]) -> None:
        self._banks = {(bank.key, bank.language): bank for bank in banks}
        self._by_id = {q.id: q for bank in self._banks.values() for q in bank.questions}
        self._aliases = _alias_table(self._banks.values())
        self._vocabularies: dict[tuple[str, str], object] = {}

    def field_key(self, field_text: str, target_position: str = "") -> str:
        """The field key for free text ("Java后端", "SRE"), from the field first, then the position; else general."""
        for text in (field_text, target_position):
            normalized = _normalize_text(text or "")
            if not normalized:
                continue
            for pattern, key in self._aliases:
                if pattern.search(normalized):
                    return key
        return GENERAL_KEY

    def questions(self, key: str, language: str, stage: str, level: str | None = None) -> list[Question]:
        """Questions of a stage; `level` keeps that level plus "any"; non-technical stages add the general bank's."""
        if key not in FIELD_NAMES and key != GENERAL_KEY:
            raise KeyError(f"unknown field key {key!r}")
        if stage not in QUESTION_STAGES:
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(QUESTION_STAGES)}")
        if level is not None and level not in (*LEVELS, "any"):
            raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
        keys = [key] if key == GENERAL_KEY or stage == "technical" else [key, GENERAL_KEY]
        language = _normalize_language(language)
        found: list[Question] = []
        for bank_key in keys:
            bank = self._banks.get((bank_key, language)) or self._banks.get((bank_key, DEFAULT_LANGUAGE))
            if bank is None:
                continue
            found += [q for q in bank.questions if q.stage == stage and (level is None or q.level in (level, "any"))]
        return found

    def get(self, question_id: str) -> Question:
        """The question with this id; KeyError if no bank has it."""
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"no question with id {question_id!r}") from None

    def bank(self, key: str, language: str) -> QuestionBank:
        """The bank loaded from `<key>.<language>.yaml` exactly (no fallback); KeyError if there is none."""
        try:
            return self._banks[(key, language)]
        except KeyError:
            raise KeyError(f"no question bank for key {key!r} in language {language!r}") from None

    def fields(self) -> list[tuple[str, str]]:
        """(key, canonical name) for the seven fields, then general."""
        return [*FIELD_NAMES.items(), (GENERAL_KEY, GENERAL_NAME)]

    def vocabulary(self, key: str, language: str):
        """That bank's concept groups and word weights (a word means what it means in its field: the general bank's
        量化 is "quantify", the AI bank's is "quantisation"); built once per bank and language."""
        cached = self._vocabularies.get((key, language))
        if cached is None:
            cached = self._vocabularies[(key, language)] = bank_vocabulary(self._banks.get((key, language)))
        return cached


def load_banks(directory: Path | None = None, *, complete: bool = True) -> QuestionBanks:
    """Every bank in `directory` (default: the shipped banks), validated; cached per resolved directory.

    `complete` (the default) refuses a bank that is not interview-ready (content_problems without the slow
    evaluator checks, which `python -m core.interviewer.check` and the tests run)."""
    # The shipped folder is already absolute and resolved: resolving it again costs a few lstat calls (~1 ms on a
    # busy disk) on each of the dozens of calls a page run makes (every sidebar card's field icon, every turn).
    resolved = Path(directory).resolve() if directory else DEFAULT_BANK_DIR
    return _load_banks_cached(resolved, complete)


@lru_cache(maxsize=8)
def _load_banks_cached(directory: Path, complete: bool = True) -> QuestionBanks:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise BankError(f"{directory}: no question-bank files (*.yaml) found")
    loaded = [(path, _read_bank(path, complete=complete)) for path in paths]
    _check_across_banks(loaded)
    return QuestionBanks(bank for _, bank in loaded)


def _read_yaml(path: Path) -> Any:
    """A bank file's data: parsed by the strict YAML loader once per file content (~0.2 s a file), then read back
    from a JSON copy next to the data (~10 ms), keyed by the file's hash so an edit is always parsed afresh."""
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read file: {exc}") from exc
    cached = CACHE_DIR / f"{path.stem}.{hashlib.sha256(content).hexdigest()[:20]}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise BankError(f"{path}: invalid YAML: {exc}") from exc
    try:  # a read-only deployment simply parses every time
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        for stale in CACHE_DIR.glob(f"{path.stem}.*.json"):
            stale.unlink(missing_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cached)
    except (OSError, TypeError, ValueError):
        pass
    return raw


def _read_bank(path: Path, *, complete: bool = False) -> QuestionBank:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise BankError(f"{path}: expected a mapping with field, key, language, aliases, questions; "
                        f"got {type(raw).__name__}")
    try:
        bank = QuestionBank.model_validate(raw)
    except ValidationError as exc:
        raise BankError(f"{path}: schema error: {_describe_errors(exc, raw)}") from exc
    expected_name = f"{bank.key}.{bank.language}.yaml"
    if path.name != expected_name:
        raise BankError(f"{path}: file name must be {expected_name} for key {bank.key!r}, language {bank.language!r}")
    technical = sum(q.stage == "technical" for q in bank.questions)
    if bank.key != GENERAL_KEY and technical < MIN_TECHNICAL_QUESTIONS:
        raise BankError(f"{path}: only {technical} technical questions; a field bank needs at least "
                        f"{MIN_TECHNICAL_QUESTIONS}")
    if complete and (problems := content_problems(bank, deep=False)):
        more = f" (and {len(problems) - 1} more; run `python -m core.interviewer.check`)" if len(problems) > 1 else ""
        raise BankError(f"{path}: {problems[0]}{more}")
    return bank


MIN_TECHNICAL_PER_LEVEL = 10
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def content_problems(bank: QuestionBank, *, min_technical: int = TARGET_TECHNICAL_QUESTIONS,
                     deep: bool = True) -> list[str]:
    """What keeps a bank from being interview-ready, one line per problem (empty: ready).

    Every interviewer line asks one thing in the bank's language; every scored question has a simpler
    rephrase and key points with synonyms, an interviewer's ask and a model sentence; technical questions carry
    misconceptions and 1-3 harder follow-ups; an English bank has no Chinese in it at all.
    """
    problems: list[str] = []
    for q in bank.questions:
        problems += [f"{q.id}: {p}" for p in _question_problems(q, bank.language)]
        if deep:  # runs the evaluator on every model sentence: the check command and the tests, not start-up
            problems += [f"{q.id}: {p}" for p in _unrecognised_models(q, bank)]
    technical = [q for q in bank.questions if q.stage == "technical"]
    if bank.key != GENERAL_KEY:
        if len(technical) < min_technical:
            problems.append(f"only {len(technical)} technical questions; a field bank needs {min_technical}")
        per_level = {level: sum(q.level == level for q in technical) for level in LEVELS}
        thin = {level: n for level, n in per_level.items() if n < MIN_TECHNICAL_PER_LEVEL * min_technical // 40}
        if thin:
            problems.append(f"too few technical questions at levels {thin}")
    for group in bank.concepts:
        problems += [f"concept group {list(group)}: {p}" for p in _language_problems(group, bank.language)]
    return problems


def _question_problems(q: Question, language: str) -> list[str]:
    problems = []
    for line in q.interviewer_lines():
        marks = line.count("?") + line.count("？")
        if marks > 1 or line.rstrip()[-1:] not in "?？。.":
            problems.append(f"must ask one thing (one question mark at most) and end with ？ or 。: {line!r}")
    texts = [q.question, *q.follow_ups, q.simpler or "", *q.tags]
    for point in q.key_points:
        texts += [point.point, *point.synonyms, point.ask or "", point.model or ""]
    for m in q.misconceptions:
        texts += [m.claim, *m.cues, *m.unless, m.challenge, m.correction]
    problems += _language_problems([t for t in texts if t], language, exempt=q.tags)
    problems += _self_triggering(q)
    if q.stage not in SCORED_STAGES:
        return problems
    if not q.simpler:
        problems.append("no simpler rephrase (simpler)")
    for point in q.key_points:
        if len(point.synonyms) < 2:
            problems.append(f"key point {point.point!r}: needs at least 2 synonyms")
        if not point.ask:
            problems.append(f"key point {point.point!r}: no ask")
        if not point.model:
            problems.append(f"key point {point.point!r}: no model sentence")
    if q.stage == "technical":
        if not 3 <= len(q.key_points) <= 5:
            problems.append(f"{len(q.key_points)} key points; a technical question has 3-5")
        if not q.misconceptions:
            problems.append("no misconceptions")
        if not q.follow_ups:
            problems.append("no harder follow-up")
        if q.level not in LEVELS:
            problems.append(f"technical questions have a level ({', '.join(LEVELS)}), not {q.level!r}")
    return problems


def bank_vocabulary(bank: QuestionBank | None):
    """A bank's judge.Vocabulary: its concept groups, and word weights over all its key points."""
    from core.interviewer.judge import build_vocabulary_index

    if bank is None:
        return build_vocabulary_index([], [])
    points = [p.model_dump() for q in bank.questions for p in q.key_points]
    return build_vocabulary_index(bank.concepts, points)


def _unrecognised_models(q: Question, bank: QuestionBank) -> list[str]:
    """A key point's own model sentence must count as covering it: if the evaluator cannot see the point in the
    very sentence the bank calls a strong answer, candidates saying the same will be told they missed it."""
    if q.stage not in SCORED_STAGES:
        return []
    from core.interviewer.judge import evaluate_answer
    from core.interviewer.workflow import question_item

    item, vocabulary = question_item(q), _cached_vocabulary(bank)
    problems = []
    for i, point in enumerate(q.key_points):
        if not point.model:
            continue
        result = evaluate_answer(answers=[point.model], question=item, stage=q.stage, language=bank.language,
                                 vocabulary=vocabulary)
        status = result.points[i].status
        if status != "covered":
            hint = "add a synonym the sentence uses" if status == "missed" else "it reads as a bare list of terms"
            problems.append(f"key point {point.point!r}: its model sentence is {status}, not covered ({hint}): "
                            f"{point.model!r}")
    return problems


@lru_cache(maxsize=32)
def _cached_vocabulary(bank: QuestionBank):
    return bank_vocabulary(bank)


def _self_triggering(q: Question) -> list[str]:
    """A misconception whose cue appears (plainly) in the question's own model sentences or correction would
    challenge a candidate who says the right thing."""
    right = [point.model.lower() for point in q.key_points if point.model]
    problems = []
    for m in q.misconceptions:
        for text in [*right, m.correction.lower()]:
            if any(u.lower() in text for u in m.unless):
                continue
            for cue in m.cues:
                if all(part.strip().lower() in text for part in cue.split("&")):
                    problems.append(f"misconception {m.claim!r}: cue {cue!r} fires on a correct sentence: {text!r}")
    return problems


def _language_problems(texts: Iterable[str], language: str, exempt: Iterable[str] = ()) -> list[str]:
    """English banks must not contain Chinese (English answers could never match it)."""
    if language != "en":
        return []
    exempt = set(exempt)
    return [f"Chinese text in an English bank: {text!r}" for text in texts if text not in exempt and _CJK.search(text)]


def _check_across_banks(loaded: list[tuple[Path, QuestionBank]]) -> None:
    """Ids unique everywhere, question text unique per language, each alias owned by one field."""
    id_paths: dict[str, Path] = {}
    texts: dict[tuple[str, str], tuple[Path, str]] = {}
    alias_keys: dict[str, tuple[str, Path]] = {}
    for path, bank in loaded:
        for q in bank.questions:
            if q.id in id_paths:
                raise BankError(f"{path}: duplicate question id {q.id!r} (also in {id_paths[q.id].name})")
            id_paths[q.id] = path
            text_key = (bank.language, _normalize_text(q.question))
            if text_key in texts:
                other_path, other_id = texts[text_key]
                raise BankError(f"{path}: duplicate question text in {q.id!r} (same as {other_id!r} in "
                                f"{other_path.name}): {q.question!r}")
            texts[text_key] = (path, q.id)
        for alias in bank.aliases:
            owner, owner_path = alias_keys.setdefault(alias, (bank.key, path))
            if owner != bank.key:
                raise BankError(f"{path}: alias {alias!r} also belongs to {owner!r} in {owner_path.name}")


def _describe_errors(exc: ValidationError, raw: dict, limit: int = 5) -> str:
    """Pydantic errors as 'questions[3] (id x).level: message (got 'expert')', naming the question."""
    described = []
    for error in exc.errors()[:limit]:
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc) or "file"
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            where = f"questions[{loc[1]}]{_question_label(raw, loc[1])}"
            where += "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[2:])
        got = error.get("input")
        suffix = f" (got {got!r})" if isinstance(got, str | int | float) and error["type"] != "missing" else ""
        described.append(f"{where}: {error['msg']}{suffix}")
    more = len(exc.errors()) - limit
    return "; ".join(described) + (f"; and {more} more" if more > 0 else "")


def _question_label(raw: dict, index: int) -> str:
    try:
        return f" (id {raw['questions'][index]['id']})"
    except (KeyError, IndexError, TypeError):
        return ""


def _alias_table(banks: Iterable[QuestionBank]) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, key) pairs, most specific alias first so "AI产品经理" is product, not ai.

    General is left out: "通用"/"其他" as the field must not hide a specific target position.
    """
    order = list(FIELD_NAMES)
    aliases: dict[str, str] = {}
    for bank in sorted((b for b in banks if b.key in FIELD_NAMES), key=lambda b: order.index(b.key)):
        for alias in (bank.key, _normalize_text(FIELD_NAMES[bank.key]), *bank.aliases):
            aliases.setdefault(alias, bank.key)
    ranked = sorted(aliases.items(), key=lambda item: (-_specificity(item[0]), order.index(item[1])))
    return [(_alias_pattern(alias), key) for alias, key in ranked]


def _specificity(alias: str) -> int:
    # A Chinese character says about as much as a short English word's two letters.
    return sum(2 if not char.isascii() else 1 for char in alias)


def _alias_pattern(alias: str) -> re.Pattern[str]:
    # Latin aliases must stand as words: "ai" must not match "email", "java" must not match "javascript".
    start = r"(?<![a-z0-9])" if alias[0].isascii() and alias[0].isalnum() else ""
    end = r"(?![a-z0-9])" if alias[-1].isascii() and alias[-1].isalnum() else ""
    return re.compile(start + re.escape(alias) + end)


def _normalize_text(text: str) -> str:
    """Full-width to half-width, lower case, single spaces: the form aliases and duplicate checks compare."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _normalize_language(language: str) -> str:
    """ "en-US" → "en", "zh"/"zh-Hans" → "zh-CN"; anything else → the default language."""
    if language in LANGUAGES:
        return language
    lowered = (language or "").lower()
    return next((lang for lang in LANGUAGES if lowered.startswith(lang[:2])), DEFAULT_LANGUAGE)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe YAML loader that refuses duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unhashable keys are refused by the base constructor
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
