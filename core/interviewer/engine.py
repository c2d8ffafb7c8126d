"""Offline or LLM interviewer, chosen from settings: evaluation, reply phrasing and report text.

The LLM path fails closed: an unusable evaluation falls back to the rule-based one (the workflow never advances
further than the rules allow), and when the model is unreachable after retries the turn either continues offline
(INTERVIEWER_FALLBACK=offline) or raises a retryable InterviewerUnavailable. Only core.interviewer.llm imports litellm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.config import Settings
from core.interviewer import asking, judge, listen, offline
from core.interviewer.judge import FLAGS, AnswerEvaluation
from core.interviewer.offline import chunk_text
from core.interviewer.workflow import Decision, decide, session_rng
from core.models import SCORED_STAGES

log = logging.getLogger(__name__)
INJECTION_SCORE_CAP = 2.0  # a model's grade for an answer the rules flag as an injection never exceeds this


class InterviewerUnavailable(Exception):
    """The model could not be used and no offline fallback is configured."""

    def __init__(self, code: str, message: str, retryable: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable = code, message, retryable


# Token counts, cost and time of the model calls behind one reply or report.
@dataclass
class Usage:
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: int = 0
    calls: int = 0

    def add(self, call: Any) -> None:
        if call is None:
            return
        self.model = call.model
        self.prompt_tokens += call.prompt_tokens or 0
        self.completion_tokens += call.completion_tokens or 0
        if call.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + call.cost_usd
        self.latency_ms += call.latency_ms or 0
        self.calls += 1


# What one turn knows: the session, the plan position, and what the candidate said on the current question.
@dataclass
class TurnContext:
    session_id: str
    language: str
    level: str
    field: str
    target_position: str
    candidate_name: str
    plan: dict
    state: dict
    stage: str
    item: dict | None
    answers: list[str]  # candidate messages on the current question, oldest first; the last is the new one
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, content) of the conversation
    used: set[str] = field(default_factory=set)  # normalised earlier interviewer messages (never repeat one)
    turn: int = 0
    earlier: list[str] = field(default_factory=list)  # the candidate's answers to other questions

    @property
    def field_key(self) -> str:
        return str(self.plan.get("field_key") or "general")

    @property
    def latest(self) -> str:
        return self.answers[-1] if self.answers else ""

    @property
    def field_terms(self) -> list[str]:
        return list(self.plan.get("field_terms") or [])


def uses_llm(settings: Settings) -> bool:
    return bool(settings.INTERVIEWER_MODEL)


def warm_up(settings: Settings) -> None:
    """Load the model client ahead of the first turn when a model is configured; offline, nothing to load."""
    if uses_llm(settings):
        from core.interviewer.llm import load

        load()


def llm_settings(settings: Settings, *, temperature: float = 0.4):
    from core.interviewer.llm import LLMSettings

    return LLMSettings(
        model=settings.INTERVIEWER_MODEL, api_base=settings.INTERVIEWER_API_BASE,
        api_key=settings.INTERVIEWER_API_KEY.get_secret_value() if settings.INTERVIEWER_API_KEY else None,
        timeout=settings.INTERVIEWER_TIMEOUT, temperature=temperature,
    )


def _fallback_or_raise(settings: Settings, exc: Exception, what: str) -> None:
    code = getattr(exc, "code", "upstream_error")
    retryable = bool(getattr(exc, "retryable", True))
    if settings.INTERVIEWER_FALLBACK == "offline":
        log.warning("LLM %s failed (%s); continuing with the offline interviewer", what, code)
        return
    message = getattr(exc, "message", str(exc))
    raise InterviewerUnavailable(code, f"AI 面试官暂时不可用，请重试 / the interviewer is unavailable ({message})",
                                 retryable) from exc


def _model_json(messages: list[dict], schema: type[BaseModel], settings: Settings, usage: Usage, *,
                temperature: float, what: str) -> Any:
    """The model's validated JSON, or None: unusable output fails closed to the offline result, and a failed
    call does too with INTERVIEWER_FALLBACK=offline (otherwise InterviewerUnavailable)."""
    from core.interviewer import llm

    try:
        out, call = llm.complete_json(messages, settings=llm_settings(settings, temperature=temperature),
                                      schema=schema)
    except llm.LLMError as exc:
        if exc.code == "invalid_output":
            log.warning("LLM %s unusable (%s); using the offline result", what, exc.message)
        else:
            _fallback_or_raise(settings, exc, what)
        return None
    usage.add(call)
    return out


# -- evaluation ----------------------------------------------------------------------------------------------------


class LLMEvaluationOut(BaseModel):
    """The JSON a model must return for one answer; validated, then clamped and merged with the rules."""

    model_config = ConfigDict(extra="ignore")
    score: float
    evidence: list[str] = []
    missed: list[str] = []
    flags: list[str] = []


def vocabulary_for(bank_key: str, language: str) -> judge.Vocabulary:
    """The concept groups and word weights an answer to a question of this bank is matched with."""
    from core.interviewer.bank import load_banks

    return load_banks().vocabulary(bank_key, language)


def offline_evaluation(ctx: TurnContext) -> AnswerEvaluation:
    return judge.evaluate_answer(answers=ctx.answers, question=ctx.item or {}, stage=ctx.stage,
                                 language=ctx.language, field_terms=ctx.field_terms,
                                 vocabulary=vocabulary_for(question_bank(ctx.item, ctx.field_key), ctx.language),
                                 earlier=ctx.earlier)


def question_bank(item: dict | None, default: str) -> str:
    """The bank a question comes from ("backend-zh-003" → backend): its concept groups are the ones to match with
    (the general bank's 量化 means "quantify", the AI bank's means "quantisation")."""
    from core.interviewer.bank import FIELD_NAMES, GENERAL_KEY

    prefix = str((item or {}).get("id", "")).split("-", 1)[0]
    return prefix if prefix in FIELD_NAMES or prefix == GENERAL_KEY else default


def next_decision(ctx: TurnContext, evaluation: AnswerEvaluation) -> Decision:
    """What the interviewer does next: the workflow's decision from the evaluation and what the answer offers to
    pick up (in 反问, the role profile's answer to the candidate's question)."""
    if ctx.stage == "candidate_questions":
        asked = asking.asks_a_question(ctx.latest)
        topic, answer = ("", "")
        if asked:
            topic, answer = asking.interviewer_answer(ctx.latest, language=ctx.language, field_key=ctx.field_key,
                                                      used=ctx.state.get("cq_used") or {})
        return decide(plan=ctx.plan, state=ctx.state, stage=ctx.stage, evaluation=evaluation, candidate_asked=asked,
                      candidate_answer=answer, topic=topic)
    heard = None
    if ctx.stage in SCORED_STAGES and ctx.item:
        heard = listen.hear(answers=ctx.answers, evaluation=evaluation, item=ctx.item, stage=ctx.stage,
                            language=ctx.language, level=ctx.level, field_key=ctx.field_key, state=ctx.state)
    return decide(plan=ctx.plan, state=ctx.state, stage=ctx.stage, evaluation=evaluation, heard=heard)


MODEL_LIFT = 0.5  # a model's grade may exceed the evidence-based grade by this much at most
MODEL_DROP = 1.0  # ... and fall below it by this much at most


def merge_evaluation(rules: AnswerEvaluation, out: LLMEvaluationOut, answers: list[str]) -> AnswerEvaluation:
    """A model's grade anchored to the rules' evidence: the key-point decisions, flags and misconceptions stay the
    rules'; the model's score moves within [rules - MODEL_DROP, rules + MODEL_LIFT] and never above the caps for
    injections and misconceptions, so no model can lift a vague, off-topic or injected answer (fails closed)."""
    raw = float(out.score) if out.score == out.score else 0.0  # NaN → 0
    score = max(rules.score - MODEL_DROP, min(rules.score + MODEL_LIFT, max(0.0, min(5.0, raw))))
    model_flags = [f for f in out.flags if f in ("off_topic", "injection")]  # rules decide empty/gibberish
    flags = list(dict.fromkeys([*rules.flags, *model_flags]))
    if not rules.any_substance:
        score = 0.0
    if "injection" in flags:
        score = min(score, rules.score, INJECTION_SCORE_CAP)
    if "off_topic" in flags and "off_topic" not in rules.flags:
        score = min(score, rules.score)
    if rules.misconception is not None:
        score = min(score, judge.MISCONCEPTION_CAP)
    evidence = judge.filter_evidence(out.evidence, answers, limit=3) or rules.evidence
    return replace(rules, score=round(max(0.0, score), 1), evidence=evidence, flags=flags, source="llm",
                   substantive=rules.substantive and "off_topic" not in flags)


def evaluate(ctx: TurnContext, settings: Settings) -> tuple[AnswerEvaluation, Usage]:
    """Grade the current answer: rules always, plus the model for scored stages when one is configured."""
    rules = offline_evaluation(ctx)
    usage = Usage()
    if not uses_llm(settings) or ctx.stage not in SCORED_STAGES or not rules.any_substance:
        return rules, usage  # nothing a model could add: empty/nonsense answers and the 反问/wrap-up turns
    from core.interviewer import prompts

    messages = prompts.evaluation_messages(ctx=ctx, question=ctx.item or {}, answers=ctx.answers)
    out = _model_json(messages, LLMEvaluationOut, settings, usage, temperature=0.0, what="evaluation")
    return (rules if out is None else merge_evaluation(rules, out, ctx.answers)), usage


# -- the reply -----------------------------------------------------------------------------------------------------


def offline_reply_text(ctx: TurnContext, decision: Decision, *, ended_early: bool = False) -> str:
    rng = session_rng(ctx.session_id, "reply", ctx.turn, decision.action)
    return offline.compose_reply(decision=decision, language=ctx.language, rng=rng, used=ctx.used,
                                 ended_early=ended_early)


class Reply:
    """The interviewer's message as it streams: iterate for text pieces; then `.text`, `.usage`, `.source`.

    `.complete` becomes True only when the whole message arrived; a stream cut after its first piece raises
    InterviewerUnavailable("stream_interrupted") even with the offline fallback (the client already showed text).
    """

    def __init__(self, ctx: TurnContext, decision: Decision, settings: Settings, *, ended_early: bool = False):
        self.ctx, self.decision, self.settings = ctx, decision, settings
        self.draft = offline_reply_text(ctx, decision, ended_early=ended_early)
        self.text = ""
        self.usage = Usage()
        self.source = "offline"
        self.complete = False

    def __iter__(self) -> Iterator[str]:
        if uses_llm(self.settings):
            yield from self._from_llm()
        else:
            yield from self._from_draft()
        self.complete = True

    def _from_draft(self) -> Iterator[str]:
        self.source = "offline"
        for piece in chunk_text(self.draft):
            self.text += piece
            yield piece

    def _from_llm(self) -> Iterator[str]:
        from core.interviewer import llm, prompts

        messages = prompts.interviewer_messages(ctx=self.ctx, decision=self.decision, draft=self.draft)
        stream = llm.stream_text(messages, settings=llm_settings(self.settings))
        self.source = "llm"
        try:
            for piece in stream:
                self.text += piece
                yield piece
        except llm.LLMError as exc:
            if self.text:
                raise InterviewerUnavailable(
                    "stream_interrupted", "回复中断，请重试 / the reply was cut off, please retry", True
                ) from exc
            _fallback_or_raise(self.settings, exc, "reply")
            yield from self._from_draft()
            return
        self.usage.add(stream.usage)
        if not self.text.strip():
            yield from self._from_draft()


def reply(ctx: TurnContext, decision: Decision, settings: Settings, *, ended_early: bool = False) -> Reply:
    return Reply(ctx, decision, settings, ended_early=ended_early)


# -- the report ----------------------------------------------------------------------------------------------------


def build_report(inp: Any, settings: Settings):
    """(ReportData, Usage): offline, or offline numbers with the model's validated prose."""
    from core.interviewer import report as reports

    base = reports.build_offline_report(inp)
    usage = Usage()
    if not uses_llm(settings) or not base.per_question:
        return base, usage
    from core.interviewer import prompts

    messages = prompts.report_messages(inp=inp, offline=base)
    text = _model_json(messages, reports.LLMReportText, settings, usage, temperature=0.3, what="report")
    return (base if text is None else reports.merge_llm_report(base, text, model=settings.INTERVIEWER_MODEL)), usage


__all__ = ["FLAGS", "InterviewerUnavailable", "Reply", "TurnContext", "Usage", "build_report", "evaluate", "reply"]
