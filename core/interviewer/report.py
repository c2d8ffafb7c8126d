"""The end-of-interview report: scores computed by the server from stored evaluations, text from templates or a model.

The numbers (overall, five dimensions, per-question scores) always come from the stored evaluations and rule-based
sub-scores, so a model cannot be talked into a better report. A model may write the prose; anything it leaves out or
gets wrong falls back to the offline text, and evidence is kept only when it is an exact substring of an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlmodel import Session

from core.interviewer.offline import evaluate_answer, filter_evidence, strip_injection
from core.interviewer.workflow import SCORED_STAGES, jd_keywords, plan_items
from core.models import Evaluation, InterviewSession, Message

DIMENSIONS = ("knowledge", "communication", "logic", "project", "fit")
WEIGHTS = {"knowledge": 0.3, "communication": 0.15, "logic": 0.15, "project": 0.25, "fit": 0.15}
LEVEL_NAMES = {"zh-CN": {"junior": "初级", "mid": "中级", "senior": "高级"},
               "en": {"junior": "junior", "mid": "mid-level", "senior": "senior"}}
DIMENSION_NAMES = {"zh-CN": {"knowledge": "专业知识", "communication": "表达沟通", "logic": "逻辑思维",
                             "project": "项目经验", "fit": "岗位匹配"},
                   "en": {"knowledge": "expertise", "communication": "communication", "logic": "logical thinking",
                          "project": "project experience", "fit": "role fit"}}


# Everything a report is built from, read once from the database.
@dataclass
class ReportInput:
    session_id: str
    target_position: str
    field: str
    level: str
    language: str
    job_description: str | None
    ended_early: bool
    plan: dict
    answers: dict[str, list[str]] = field(default_factory=dict)  # question id -> candidate messages, in order
    evaluations: dict[str, list[dict]] = field(default_factory=dict)  # question id -> stored evaluations, in order
    asked: set[str] = field(default_factory=set)  # question ids the interviewer actually asked


# A built report, ready to store in the Report table.
@dataclass
class ReportData:
    overall: int
    dimensions: dict[str, int]
    strengths: list[str]
    improvements: list[str]
    per_question: list[dict]
    summary: str
    source: str = "offline"
    model: str | None = None


def collect_input(*, db: Session, session: InterviewSession) -> ReportInput:
    """The session's plan, answers grouped by question, stored evaluations and which questions were asked."""
    messages = list(db.execute(select(Message).where(Message.session_id == session.id).order_by(Message.id)).scalars())
    evaluations = db.execute(
        select(Evaluation).where(Evaluation.session_id == session.id).order_by(Evaluation.id)
    ).scalars()
    inp = ReportInput(
        session_id=session.id, target_position=session.target_position, field=session.field, level=session.level,
        language=session.language, job_description=session.job_description, ended_early=session.ended_early,
        plan=session.plan or {},
    )
    for message in messages:
        if not message.question_id:
            continue
        if message.role == "user":
            inp.answers.setdefault(message.question_id, []).append(message.content)
        elif message.status == "complete":
            inp.asked.add(message.question_id)
    for row in evaluations:
        inp.evaluations.setdefault(row.question_id or "", []).append(
            {"score": row.score, "evidence": list(row.evidence or []), "missed": list(row.missed or []),
             "flags": list(row.flags or []), "source": row.source}
        )
    return inp


def _question_entry(item: dict, inp: ReportInput) -> dict:
    answers = inp.answers.get(item["id"], [])
    offline = evaluate_answer(answers=answers or [""], question=item, stage=item["stage"], language=inp.language,
                              field_terms=inp.plan.get("field_terms", []))
    stored = inp.evaluations.get(item["id"], [])
    last = stored[-1] if stored else None
    score = float(last["score"]) if last else offline.score
    flags = sorted({f for row in stored for f in row["flags"]} | set(offline.flags if answers else []))
    evidence = filter_evidence([q for row in stored for q in row["evidence"]] + offline.evidence, answers)
    missed = list(last["missed"]) if last and last["missed"] is not None else offline.missed
    if not answers:
        score, evidence, flags = 0.0, [], ["empty"]
    return {
        "question_id": item["id"], "stage": item["stage"], "question": item["question"],
        "answer": "\n".join(answers), "score": round(max(0.0, min(5.0, score)), 1), "evidence": evidence,
        "missed": [str(m) for m in missed][:8], "flags": flags, "key_points": [p["point"] for p in item["key_points"]],
        "feedback": "", "better_answer": "",
        "_communication": 0.5 * offline.length + 0.3 * offline.structure + 0.2 * offline.specificity,
        "_logic": offline.structure, "_injection": "injection" in flags,
    }


def _avg(values: list[float]) -> float:
    return mean(values) if values else 0.0


def _fit_terms(inp: ReportInput, entries: list[dict]) -> float:
    """How much of the role's vocabulary (JD words, planned question tags) the candidate used, 0–1."""
    vocabulary = {t.lower() for item in plan_items(inp.plan) for t in item.get("tags", []) if t}
    vocabulary |= {w for w in jd_keywords(inp.job_description) if len(w) >= 2}
    if not vocabulary:
        return _avg([e["score"] / 5 for e in entries])
    said = " ".join(strip_injection(e["answer"]) for e in entries).lower()
    hits = sum(1 for term in vocabulary if term and term in said)
    return min(1.0, hits / 5)


def compute_scores(entries: list[dict], inp: ReportInput, planned: int) -> tuple[int, dict[str, int]]:
    """Overall (0–100) and the five dimensions (0–100) from per-question scores and rule sub-scores."""
    def scores(*stages: str) -> list[float]:
        return [e["score"] / 5 for e in entries if e["stage"] in stages]

    penalty = [0.8 if e["_injection"] else 1.0 for e in entries]
    pairs = list(zip(entries, penalty, strict=True))
    communication = [(0.6 * e["score"] / 5 + 0.4 * e["_communication"]) * p for e, p in pairs]
    logic = [(0.6 * e["score"] / 5 + 0.4 * e["_logic"]) * p for e, p in pairs]
    project_parts = [(v, w) for v, w in ((scores("project"), 0.7), (scores("behavioral"), 0.3)) if v]
    project = sum(_avg(v) * w for v, w in project_parts) / sum(w for _, w in project_parts) if project_parts else 0.0
    all_scores = scores(*SCORED_STAGES)
    vocabulary_used = _fit_terms(inp, entries) * _avg(all_scores) ** 0.5  # role words without good answers: no fit
    fit = 0.5 * _avg(all_scores) + 0.2 * _avg(scores("self_intro")) + 0.3 * vocabulary_used
    dimensions = {
        "knowledge": _avg(scores("technical")), "communication": _avg(communication), "logic": _avg(logic),
        "project": project, "fit": fit,
    }
    dimensions = {k: int(round(max(0.0, min(1.0, v)) * 100)) for k, v in dimensions.items()}
    answered = sum(1 for e in entries if e["answer"].strip())
    completion = 0.5 + 0.5 * min(1.0, answered / planned) if planned else 1.0
    overall = sum(WEIGHTS[k] * dimensions[k] for k in DIMENSIONS) * completion
    return int(round(max(0.0, min(100.0, overall)))), dimensions


def build_offline_report(inp: ReportInput) -> ReportData:
    """The complete report from stored evaluations and templates (no model)."""
    scored_items = [item for item in plan_items(inp.plan) if item["stage"] in SCORED_STAGES]
    entries = [_question_entry(item, inp) for item in scored_items
               if item["id"] in inp.asked or item["id"] in inp.answers]
    overall, dimensions = compute_scores(entries, inp, len(scored_items))
    for entry in entries:
        entry["feedback"] = question_feedback(entry, inp.language)
        entry["better_answer"] = better_answer(entry, inp.language)
    strengths, improvements = strengths_and_improvements(dimensions, entries, inp)
    summary = summary_text(inp, overall, dimensions, strengths, improvements)
    return ReportData(overall, dimensions, strengths, improvements, [public_entry(e) for e in entries], summary)


PUBLIC_KEYS = ("question_id", "stage", "question", "answer", "score", "evidence", "missed", "feedback",
               "better_answer")


def public_entry(entry: dict) -> dict:
    return {key: entry[key] for key in PUBLIC_KEYS}


# -- texts ---------------------------------------------------------------------------------------------------------


def _zh(language: str) -> bool:
    return language == "zh-CN"


def question_feedback(entry: dict, language: str) -> str:
    zh = _zh(language)
    flags, score = set(entry["flags"]), entry["score"]
    missed = "、".join(entry["missed"][:3]) if zh else ", ".join(entry["missed"][:3])
    parts = []
    if not entry["answer"].strip() or ("empty" in flags and score == 0):
        parts.append("这道题没有给出有效回答。" if zh else "No real answer was given to this question.")
    elif "gibberish" in flags and score == 0:
        parts.append("回答无法识别为有效内容。" if zh else "The reply could not be read as an answer.")
    elif "off_topic" in flags and score <= 1:
        parts.append("回答偏离了问题本身。" if zh else "The answer drifted away from the question.")
    elif score >= 4:
        parts.append("回答完整具体，覆盖了主要要点。" if zh
                     else "A complete, specific answer covering the main points.")
    elif score >= 2.5:
        parts.append("回答覆盖了部分要点，但还不够深入。" if zh else "The answer covers some points but lacks depth.")
    else:
        parts.append("回答较为单薄，缺少关键内容和具体例子。" if zh
                     else "The answer is thin: key content and examples are missing.")
    if missed and score < 4.5:
        parts.append(f"可以补充：{missed}。" if zh else f"Worth adding: {missed}.")
    if "injection" in flags:
        parts.append("回答中试图影响评分的内容已被忽略并扣分。" if zh
                     else "Text trying to influence the score was ignored and cost points.")
    return "".join(parts) if zh else " ".join(parts)


_STAGE_TIPS = {
    "technical": ("先给出结论或定义，再讲原理，最后结合项目中的实际例子和数据。",
                  "Start with the definition or conclusion, explain how it works, then give a real example with "
                  "numbers."),
    "project": ("用 STAR 结构：背景与目标 → 你的职责 → 具体行动和技术方案 → 可量化的结果与反思。",
                "Use STAR: context and goal, your role, concrete actions and technical choices, measurable results."),
    "behavioral": ("用 STAR 结构：情境 → 任务 → 行动 → 结果，突出你本人的做法和收获。",
                   "Use STAR: situation, task, action, result, focusing on what you did and learned."),
    "self_intro": ("一分钟内讲清：教育背景、核心经历、擅长方向，以及与岗位的匹配点。",
                   "In about a minute: education, key experience, strengths, and why you fit this role."),
}


def better_answer(entry: dict, language: str) -> str:
    """An outline of a stronger answer built from the question's key points."""
    zh = _zh(language)
    tip = _STAGE_TIPS.get(entry["stage"], _STAGE_TIPS["technical"])[0 if zh else 1]
    points = entry.get("key_points", [])
    if not points:
        return tip
    lines = [("更好的回答可以包括：" if zh else "A stronger answer would cover:")]
    lines += [f"{i}. {point}" for i, point in enumerate(points, 1)]
    lines.append(("结构建议：" if zh else "Structure: ") + tip)
    return "\n".join(lines)


_STRENGTHS = {
    "knowledge": ("专业知识扎实，能覆盖问题的关键要点", "Solid expertise: answers covered the key points"),
    "communication": ("表达清晰完整，回答有细节", "Clear, complete answers with detail"),
    "logic": ("回答条理清晰，结构化程度高", "Well-structured, logical answers"),
    "project": ("项目和经历讲得具体，能说明个人职责和结果", "Concrete project stories with your role and results"),
    "fit": ("与目标岗位的要求匹配度较高", "A good match with the role's requirements"),
}
_IMPROVEMENTS = {
    "knowledge": ("系统复习岗位核心知识点，回答时覆盖关键要点并讲清原理",
                  "Review the role's core topics; cover the key points and explain how things work"),
    "communication": ("回答尽量完整具体，避免一句话带过，多用实例和数据支撑",
                      "Give complete, specific answers instead of one-liners; support them with examples and numbers"),
    "logic": ("先给结论再展开，使用“首先、其次、最后”等结构组织回答",
              "Lead with the conclusion, then structure the details (first, second, finally)"),
    "project": ("用 STAR 法则讲述项目和经历，突出个人贡献和量化结果",
                "Tell project stories with STAR and highlight your contribution and measurable results"),
    "fit": ("结合职位描述准备，突出与岗位直接相关的技能和经验",
            "Prepare against the job description and stress directly relevant skills and experience"),
}


def strengths_and_improvements(dimensions: dict[str, int], entries: list[dict], inp: ReportInput):
    i = 0 if _zh(inp.language) else 1
    ranked = sorted(DIMENSIONS, key=lambda k: -dimensions[k])
    strengths = [_STRENGTHS[k][i] for k in ranked if dimensions[k] >= 70][:3]
    if not strengths:
        best = ranked[0]
        if dimensions[best] >= 35:
            name = DIMENSION_NAMES[inp.language if i == 0 else "en"][best]
            strengths = [f"{name}是相对较好的一项" if i == 0 else f"{name.capitalize()} was your relatively best area"]
        elif inp.ended_early:
            strengths = [f"迈出了第一步：练习了 {len(entries)} 道题" if i == 0
                         else f"You made a start: {len(entries)} question(s) practised"]
        else:
            strengths = ["坚持完成了整场面试流程" if i == 0 else "You went through the whole interview"]
    improvements = [_IMPROVEMENTS[k][i] for k in reversed(ranked) if dimensions[k] < 70][:3]
    flags = {f for e in entries for f in e["flags"]}
    if flags & {"empty", "gibberish"}:
        improvements.append("认真作答每一道题，空白或无意义的回答会直接计 0 分" if i == 0
                            else "Answer every question; empty or meaningless replies score zero")
    if "off_topic" in flags:
        improvements.append("回答要紧扣问题，避免答非所问" if i == 0 else "Stay on the question that was asked")
    if "injection" in flags:
        improvements.append("专注于回答问题本身，试图操纵评分的内容不会被采纳，反而会扣分" if i == 0
                            else "Focus on answering; attempts to steer the scoring are ignored and cost points")
    if not improvements:
        improvements = ["继续保持，可以尝试更高级别的面试来挑战自己" if i == 0
                        else "Keep it up, and try a higher-level interview next"]
    return strengths, improvements


def summary_text(inp: ReportInput, overall: int, dimensions: dict, strengths: list[str],
                 improvements: list[str]) -> str:
    zh = _zh(inp.language)
    level = LEVEL_NAMES["zh-CN" if zh else "en"].get(inp.level, inp.level)
    if zh:
        text = (f"本次{inp.target_position}（{level}）模拟面试综合得分 {overall} 分。"
                f"主要优势：{strengths[0]}。最需要提升：{improvements[0]}。")
        if inp.ended_early:
            text += "本次面试提前结束，报告只基于已回答的问题。"
        return text
    text = (f"Overall score for this {level} {inp.target_position} mock interview: {overall}/100. "
            f"Main strength: {strengths[0]}. Top priority: {improvements[0]}.")
    if inp.ended_early:
        text += " The interview ended early, so the report covers only the questions answered."
    return text


# -- a model's report text, validated ------------------------------------------------------------------------------


class LLMQuestionText(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question_id: str
    feedback: str | None = None
    better_answer: str | None = None
    evidence: list[str] | None = None


class LLMReportText(BaseModel):
    model_config = ConfigDict(extra="ignore")
    strengths: list[str] | None = None
    improvements: list[str] | None = None
    summary: str | None = None
    per_question: list[LLMQuestionText] | None = None


def _clean_list(values: Any, limit: int = 5, max_chars: int = 300) -> list[str]:
    if not isinstance(values, list):
        return []
    return [v.strip()[:max_chars] for v in values if isinstance(v, str) and v.strip()][:limit]


def _clean_text(value: Any, max_chars: int = 2000) -> str:
    return value.strip()[:max_chars] if isinstance(value, str) else ""


def merge_llm_report(offline: ReportData, text: LLMReportText, *, model: str) -> ReportData:
    """The offline report with the model's prose where it is present and valid; scores stay the server's."""
    by_id = {q.question_id: q for q in text.per_question or []}
    per_question = []
    for entry in offline.per_question:
        merged = dict(entry)
        llm = by_id.get(entry["question_id"])
        if llm is not None:
            merged["feedback"] = _clean_text(llm.feedback, 1000) or entry["feedback"]
            merged["better_answer"] = _clean_text(llm.better_answer, 2000) or entry["better_answer"]
            quotes = filter_evidence(llm.evidence or [], [entry["answer"]] if entry["answer"] else [])
            merged["evidence"] = quotes or entry["evidence"]
        per_question.append(merged)
    return ReportData(
        overall=offline.overall,
        dimensions=dict(offline.dimensions),
        strengths=_clean_list(text.strengths) or offline.strengths,
        improvements=_clean_list(text.improvements) or offline.improvements,
        per_question=per_question,
        summary=_clean_text(text.summary) or offline.summary,
        source="llm",
        model=model,
    )


def evidence_is_grounded(report: ReportData) -> bool:
    """Every evidence quote is an exact substring of that question's answer."""
    return all(q in e["answer"] for e in report.per_question for q in e["evidence"])

