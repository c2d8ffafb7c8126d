"""Offline or LLM interviewer, chosen from settings: evaluation, reply phrasing and report text.

The LLM path fails closed: an unusable evaluation falls back to the rule-based one (the workflow never advances
further than the rules allow), and when the model is unreachable after retries the turn either continues offline
(INTERVIEWER_FALLBACK=offline) or raises a retryable InterviewerError. Only core.interviewer.llm imports litellm.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.config import Settings
from core.interviewer import asking, judge, listen, offline
from core.interviewer.errors import InterviewerError
from core.interviewer.judge import FLAGS, AnswerEvaluation, normalise
from core.interviewer.offline import chunk_text
from core.interviewer.workflow import Decision, decide, session_rng
from core.models import SCORED_STAGES

log = logging.getLogger(__name__)
INJECTION_SCORE_CAP = 2.0  # a model's grade for an answer the rules flag as an injection never exceeds this


# Token counts, cost and time of the model calls behind one reply or report, and what the guards caught.
@dataclass
class Usage:
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: int = 0
    calls: int = 0
    first_token_ms: int | None = None
    invalid_json: int = 0  # model JSON that did not fit its schema (the rules' result was used)
    guards: dict[str, int] = field(default_factory=dict)  # guard name → replies/fields it rejected
    fallbacks: int = 0  # replies or fields replaced by the built-in text
    grades: dict[str, float] = field(default_factory=dict)  # {"rules": ..., "model": ...}: what each said

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

    def merge(self, other: Usage) -> None:
        if other.calls:
            self.model = other.model
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd
        self.latency_ms += other.latency_ms
        self.calls += other.calls
        self.first_token_ms = other.first_token_ms if other.first_token_ms is not None else self.first_token_ms
        self.invalid_json += other.invalid_json
        self.fallbacks += other.fallbacks
        for name, hits in other.guards.items():
            self.guards[name] = self.guards.get(name, 0) + hits
        self.grades.update(other.grades)

    def hit(self, problems: list[str]) -> None:
        for name in problems:
            self.guards[name] = self.guards.get(name, 0) + 1

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def details(self) -> dict:
        """What is kept with the turn's evaluation for staff: the model's checks, not its tokens (stored apart)."""
        out: dict[str, Any] = {}
        if self.first_token_ms is not None:
            out["first_token_ms"] = self.first_token_ms
        if self.invalid_json:
            out["invalid_json"] = self.invalid_json
        if self.guards:
            out["guards"] = dict(self.guards)
        if self.fallbacks:
            out["fallbacks"] = self.fallbacks
        if self.grades:
            out["grades"] = dict(self.grades)
        return out


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


def llm_settings(settings: Settings, *, kind: str = "reply", temperature: float = 0.4):
    """The LiteLLM call parameters for one kind of call ("reply", "grade" or "report": its max_tokens)."""
    from core.interviewer.llm import LLMSettings

    fallbacks = tuple(_fallback_spec(spec) for spec in settings.INTERVIEWER_FALLBACKS)
    return LLMSettings(
        model=settings.INTERVIEWER_MODEL, api_base=settings.INTERVIEWER_API_BASE,
        api_key=settings.INTERVIEWER_API_KEY.get_secret_value() if settings.INTERVIEWER_API_KEY else None,
        timeout=settings.INTERVIEWER_TIMEOUT, stream_timeout=settings.INTERVIEWER_STREAM_TIMEOUT,
        min_tokens_per_s=settings.INTERVIEWER_MIN_TOKENS_PER_S, num_retries=settings.INTERVIEWER_NUM_RETRIES,
        temperature=temperature, max_tokens=settings.INTERVIEWER_MAX_TOKENS[kind], fallbacks=fallbacks,
    )


def _fallback_spec(spec: str) -> Any:
    """'model' or 'model@http://host/v1' (a fallback on another server); keys come from the provider's env."""
    model, _, api_base = spec.partition("@")
    return {"model": model, "api_base": api_base} if api_base else model


def _fallback_or_raise(settings: Settings, exc: InterviewerError, what: str) -> None:
    if settings.INTERVIEWER_FALLBACK == "offline":
        log.warning("LLM %s failed (%s: %s); continuing with the offline interviewer", what, exc.code, exc.detail)
        return
    raise exc


def _model_json(messages: list[dict], schema: type[BaseModel], settings: Settings, usage: Usage, *,
                temperature: float, what: str) -> Any:
    """The model's validated JSON, or None: unusable output fails closed to the offline result, and a failed
    call does too with INTERVIEWER_FALLBACK=offline (otherwise InterviewerError)."""
    from core.interviewer import llm

    kind = "grade" if what == "evaluation" else what
    try:
        out, call = llm.complete_json(messages, settings=llm_settings(settings, kind=kind, temperature=temperature),
                                      schema=schema)
    except InterviewerError as exc:
        if exc.code == "invalid_output":
            usage.invalid_json += 1
            log.warning("LLM %s unusable (%s); using the offline result", what, exc.detail)
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
    missed: list[str] = []  # accepted, never used: the rules' evidence decides what was missed
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
LIFT_COVERAGE = 0.5  # share of key points the rules found covered before a model may lift their grade


def merge_evaluation(rules: AnswerEvaluation, out: LLMEvaluationOut, answers: list[str]) -> AnswerEvaluation:
    """A model's grade anchored to the rules' evidence: the key-point decisions, flags and misconceptions stay the
    rules'; the model's score moves within [rules - MODEL_DROP, rules + MODEL_LIFT] and never above the caps for
    injections and misconceptions, so no model can lift a vague, off-topic or injected answer (fails closed)."""
    raw = float(out.score) if out.score == out.score else 0.0  # NaN → 0
    # A lift needs the evidence behind it: a substantive, unflagged answer covering at least half its key points.
    supported = rules.substantive and not rules.flags and (not rules.points or rules.coverage >= LIFT_COVERAGE)
    ceiling = rules.score + (MODEL_LIFT if supported else 0.0)
    score = max(rules.score - MODEL_DROP, min(ceiling, max(0.0, min(5.0, raw))))
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

    messages = prompts.evaluation_messages(ctx=ctx, question=ctx.item or {}, answers=ctx.answers, rules=rules)
    out = _model_json(messages, LLMEvaluationOut, settings, usage, temperature=0.0, what="evaluation")
    if out is None:
        return rules, usage
    usage.grades = {"rules": round(rules.score, 2), "model": round(float(out.score), 2)}
    return merge_evaluation(rules, out, ctx.answers), usage


# -- the reply -----------------------------------------------------------------------------------------------------


def offline_reply_text(ctx: TurnContext, decision: Decision, *, ended_early: bool = False) -> str:
    rng = session_rng(ctx.session_id, "reply", ctx.turn, decision.action)
    return offline.compose_reply(decision=decision, language=ctx.language, rng=rng, used=ctx.used,
                                 ended_early=ended_early)


class Reply:
    """The interviewer's message: iterate for text pieces; then `.text`, `.usage`, `.source`.

    A model's reply is read whole and checked by the guards before any of it is shown (a reply cannot be taken back
    once streamed): one that fails is regenerated once with the reasons, then replaced by the built-in phrasing of
    the same decision. A model that cannot be reached raises InterviewerError, or with INTERVIEWER_FALLBACK=offline
    the built-in phrasing is used. `.complete` becomes True when the whole message has been given out.
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
            yield from self._give(self.draft, "offline")
        self.complete = True

    def _give(self, text: str, source: str) -> Iterator[str]:
        self.source = source
        for piece in chunk_text(text):
            self.text += piece
            yield piece

    def problems(self, text: str, finish_reason: str | None) -> list[str]:
        from core.interviewer import guards

        ctx = self.ctx
        secrets = [p.get("point", "") for p in (self.decision.item or {}).get("key_points", []) or []]
        question = (self.decision.item or {}).get("question", "")
        secrets = [point for point in secrets if normalise(point) not in normalise(question)]
        offer = self.decision.offer
        asked = "" if self.decision.action in ("answer_candidate", "end") else (
            (offer.question or "") if offer is not None else question)  # a follow-up on a figure has no text
        found = guards.reply_problems(text, language=ctx.language, earlier=ctx.used, ends=self.decision.action == "end",
                                      max_chars=self.settings.INTERVIEWER_MAX_REPLY_CHARS, secrets=secrets,
                                      candidate=ctx.answers, question=asked, terms=f"{question} {self.draft}")
        if finish_reason == "length":
            found.append("truncated")
        return found

    def _from_llm(self) -> Iterator[str]:
        from core.interviewer import llm, prompts

        messages = prompts.interviewer_messages(ctx=self.ctx, decision=self.decision, draft=self.draft)
        call_settings = llm_settings(self.settings, kind="reply")
        for attempt in range(2):
            try:
                text, call = llm.complete_text(messages, settings=call_settings)
            except InterviewerError as exc:
                _fallback_or_raise(self.settings, exc, "reply")
                break
            self.usage.add(call)
            if self.usage.first_token_ms is None:
                self.usage.first_token_ms = call.first_token_ms
            text = text.strip()
            problems = self.problems(text, call.finish_reason)
            if not problems:
                yield from self._give(text, "llm")
                return
            self.usage.hit(problems)
            log.info("LLM reply rejected (%s)%s", ", ".join(problems), "; regenerating" if not attempt else "")
            messages = prompts.regenerate_messages(messages, text, problems)
        self.usage.fallbacks += 1
        yield from self._give(self.draft, "offline")


def reply(ctx: TurnContext, decision: Decision, settings: Settings, *, ended_early: bool = False) -> Reply:
    return Reply(ctx, decision, settings, ended_early=ended_early)


# -- the report ----------------------------------------------------------------------------------------------------


def checked_report_text(text: Any, base: Any, inp: Any, usage: Usage) -> Any:
    """The model's report prose with every failing field dropped (the built-in text stays there), counted in
    `usage`: prompt or rubric text, injected instructions, the wrong language, or a summary that contradicts the
    computed scores. Per-question text is always the server's (scores, quotes, feedback, better answers)."""
    from core.interviewer import guards

    answers = [entry.get("answer") or "" for entry in base.per_question]
    language = inp.language

    def keep(value: str, extra: list[str]) -> bool:
        problems = guards.prose_problems(value, language=language, answers=answers) + extra
        usage.hit(problems)
        return not problems

    summary = (text.summary or "").strip()
    contradicts = ["contradicts_scores"] if summary and guards.summary_contradicts(summary, base.overall) else []
    if summary and not keep(summary, contradicts):
        summary = ""
    strengths = [item for item in (text.strengths or []) if isinstance(item, str) and keep(
        item, ["contradicts_scores"] if guards.strength_contradicts(item, base.overall) else [])]
    improvements = [item for item in (text.improvements or []) if isinstance(item, str) and keep(item, [])]
    dropped = (bool(text.summary) and not summary) + len(text.strengths or []) - len(strengths) \
        + len(text.improvements or []) - len(improvements)
    usage.fallbacks += dropped
    return text.model_copy(update={"summary": summary or None, "strengths": strengths or None,
                                   "improvements": improvements or None, "per_question": None})


def build_report(inp: Any, settings: Settings):
    """(ReportData, Usage): offline, or offline numbers with the model's checked prose."""
    from core.interviewer import report as reports

    base = reports.build_offline_report(inp)
    usage = Usage()
    if not uses_llm(settings) or not base.per_question:
        return base, usage
    from core.interviewer import prompts

    messages = prompts.report_messages(inp=inp, offline=base)
    text = _model_json(messages, prompts.ReportProse, settings, usage, temperature=0.3, what="report")
    if text is None:
        return base, usage
    prose = reports.LLMReportText(summary=text.summary, strengths=text.strengths, improvements=text.improvements)
    checked = checked_report_text(prose, base, inp, usage)
    return reports.merge_llm_report(base, checked, model=settings.INTERVIEWER_MODEL), usage


__all__ = ["FLAGS", "InterviewerError", "Reply", "TurnContext", "Usage", "build_report", "evaluate", "reply"]
