"""Offline or LLM interviewer, chosen from settings: evaluation, reply phrasing and report text.

The LLM path fails closed: an unusable evaluation falls back to the rule-based one (the workflow never advances
further than the rules allow), and when the model is unreachable after retries the turn either continues offline
(INTERVIEWER_FALLBACK=offline) or raises a retryable InterviewerUnavailable. Only core.interviewer.llm imports litellm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.config import Settings
from core.interviewer import offline
from core.interviewer.offline import FLAGS, AnswerEvaluation, chunk_text
from core.interviewer.workflow import SCORED_STAGES, Decision, session_rng

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
        api_key=settings.INTERVIEWER_API_KEY, timeout=settings.INTERVIEWER_TIMEOUT, temperature=temperature,
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


def offline_evaluation(ctx: TurnContext) -> AnswerEvaluation:
    return offline.evaluate_answer(answers=ctx.answers, question=ctx.item or {}, stage=ctx.stage,
                                   language=ctx.language, field_terms=ctx.field_terms)


def merge_evaluation(rules: AnswerEvaluation, out: LLMEvaluationOut, answers: list[str]) -> AnswerEvaluation:
    """A model's grade made safe: clamped, evidence grounded, rule flags kept and authoritative."""
    score = max(0.0, min(5.0, float(out.score))) if out.score == out.score else 0.0  # NaN → 0
    model_flags = [f for f in out.flags if f in ("off_topic", "injection")]  # rules decide empty/gibberish
    flags = list(dict.fromkeys([*rules.flags, *model_flags]))
    if not rules.any_substance:
        score = 0.0
    if "injection" in rules.flags:
        score = min(score, rules.score, INJECTION_SCORE_CAP)
    if "off_topic" in flags and "off_topic" not in rules.flags:
        score = min(score, rules.score)
    evidence = offline.filter_evidence(out.evidence, answers, limit=3) or rules.evidence
    missed = [m.strip()[:200] for m in out.missed if isinstance(m, str) and m.strip()][:6]
    return AnswerEvaluation(
        score=round(score, 1), evidence=evidence, missed=missed if out.missed is not None else rules.missed,
        flags=flags, covered=rules.covered, coverage=rules.coverage, length=rules.length,
        specificity=rules.specificity, structure=rules.structure,
        substantive=rules.substantive and "off_topic" not in flags,
        any_substance=rules.any_substance, source="llm", thin_override=score < 3.0,
    )


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

        topic = offline.question_topic(self.decision.item or {}, self.ctx.language) if self.decision.item else ""
        messages = prompts.interviewer_messages(ctx=self.ctx, decision=self.decision, draft=self.draft, topic=topic)
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
