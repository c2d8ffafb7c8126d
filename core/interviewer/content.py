"""Shipped interviewer content besides the question banks: the probe bank and the role profiles (YAML under data/).

Probe bank (`data/probes/probes.<language>.yaml`): deep-dive questions per technology or method a candidate may
name (Redis, Kafka, React hooks, A/B tests ...), asked as "你提到了 Redis，<question>".
Role profiles (`data/role_profiles/<field key>.<language>.yaml`): what the interviewer answers in 反问, per topic
(team, tech stack, growth, process, next steps ...); `topics.<language>.yaml` says how candidate questions are
recognised and how good a question on each topic is. A career centre edits these files; the loader validates them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import Field, ValidationError, model_validator

from core.interviewer.bank import (
    FIELD_NAMES,
    GENERAL_KEY,
    LANGUAGES,
    BankError,
    Language,
    Text,
    _BankModel,
    _describe_errors,
    _language_problems,
    _StrictLoader,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PROBE_DIR = DATA_DIR / "probes"
PROFILE_DIR = DATA_DIR / "role_profiles"
ProbeLevel = Literal["junior", "mid", "senior"]
Topic = Literal["team", "tech_stack", "growth", "process", "challenges", "expectations", "culture", "work_life",
                "compensation", "next_steps", "other"]
TOPICS: tuple[str, ...] = get_args(Topic)
Quality = Literal["good", "neutral", "early"]  # early: fine later in a process, a weak first question to an interviewer


# One deep-dive question about a named term, at a level.
class ProbeQuestion(_BankModel):
    level: ProbeLevel
    text: Text  # reads naturally after "你提到了 <term>，" / "You mentioned <term>. "


# A technology or method candidates name, the ways they write it, and deep-dive questions about it.
class Probe(_BankModel):
    term: Text  # how the interviewer names it
    aliases: tuple[Text, ...] = ()  # how candidates write it (matched like key-point synonyms; the term itself too)
    fields: tuple[Text, ...] = ()  # field keys where it is on topic; empty: every field
    questions: tuple[ProbeQuestion, ...] = Field(min_length=3)

    @model_validator(mode="after")
    def _every_level(self) -> Probe:
        missing = set(get_args(ProbeLevel)) - {q.level for q in self.questions}
        if missing:
            raise ValueError(f"probe {self.term!r} has no question for {sorted(missing)}")
        unknown = set(self.fields) - set(FIELD_NAMES) - {GENERAL_KEY}
        if unknown:
            raise ValueError(f"probe {self.term!r}: unknown field keys {sorted(unknown)}")
        return self


class ProbeBank(_BankModel):
    language: Language
    probes: tuple[Probe, ...] = Field(min_length=1)


# How candidate questions on one topic are recognised, and how good a question it is for a first interview.
class TopicSpec(_BankModel):
    cues: tuple[Text, ...] = Field(min_length=1)
    quality: Quality
    note: Text  # one sentence the report may use about a question on this topic


class TopicBank(_BankModel):
    language: Language
    topics: dict[Topic, TopicSpec]

    @model_validator(mode="after")
    def _all_but_other(self) -> TopicBank:
        missing = set(TOPICS) - {"other"} - set(self.topics)
        if missing:
            raise ValueError(f"topics missing: {sorted(missing)}")
        return self


# What the interviewer answers about one field's role, per topic (several phrasings each, so answers vary).
class RoleProfile(_BankModel):
    key: Text
    language: Language
    role: Text  # how the interviewer refers to the role ("后端开发工程师")
    answers: dict[Topic, tuple[Text, ...]]

    @model_validator(mode="after")
    def _complete(self) -> RoleProfile:
        if self.key not in FIELD_NAMES and self.key != GENERAL_KEY:
            raise ValueError(f"unknown key {self.key!r}")
        missing = [topic for topic in TOPICS if len(self.answers.get(topic, ())) < 2]
        if missing:
            raise ValueError(f"each topic needs at least two answers; too few for {missing}")
        return self


def _read(path: Path, model: type[_BankModel]) -> _BankModel:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise BankError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise BankError(f"{path}: expected a mapping, got {type(raw).__name__}")
    try:
        loaded = model.model_validate(raw)
    except ValidationError as exc:
        raise BankError(f"{path}: schema error: {_describe_errors(exc, raw)}") from exc
    texts = [text for value in _strings(raw) for text in [value]]
    problems = _language_problems(texts, loaded.language)
    if problems:
        raise BankError(f"{path}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return loaded


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() if key not in ("language", "key", "fields") for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


@lru_cache(maxsize=8)
def load_probes(language: str, directory: Path = PROBE_DIR) -> ProbeBank:
    """The probe bank of a language (zh-CN fallback), validated; cached."""
    language = language if language in LANGUAGES else "zh-CN"
    path = directory / f"probes.{language}.yaml"
    bank = _read(path, ProbeBank)
    if bank.language != language:
        raise BankError(f"{path}: language must be {language!r}")
    return bank


@lru_cache(maxsize=8)
def load_topics(language: str, directory: Path = PROFILE_DIR) -> TopicBank:
    language = language if language in LANGUAGES else "zh-CN"
    path = directory / f"topics.{language}.yaml"
    topics = _read(path, TopicBank)
    if topics.language != language:
        raise BankError(f"{path}: language must be {language!r}")
    return topics


@lru_cache(maxsize=32)
def load_profile(key: str, language: str, directory: Path = PROFILE_DIR) -> RoleProfile:
    """The role profile of a field (the general one when the field has none), validated; cached."""
    language = language if language in LANGUAGES else "zh-CN"
    path = directory / f"{key}.{language}.yaml"
    if not path.is_file():
        path = directory / f"{GENERAL_KEY}.{language}.yaml"
    profile = _read(path, RoleProfile)
    if profile.language != language or path.stem.split(".")[0] != profile.key:
        raise BankError(f"{path}: file name must be <key>.<language>.yaml matching its key and language")
    return profile
