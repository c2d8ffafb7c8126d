"""The end-of-interview report: scores from the stored evaluations, text from what this candidate actually did.

The numbers (overall, five dimensions, per-question scores) always come from the stored evaluations and rule-based
sub-scores, so a model cannot be talked into a better report. Each question's covered, unclear and missed points are
the key-point decisions stored with its last evaluation (one decision, so a point quoted as covered is never listed
as missed). Advice is built from the answers: a misconception gets its correction, a story without a result is asked
for one, answers without numbers are asked to quantify, structure advice goes only to answers without structure. The
stronger-answer outline covers, in prose, only what this candidate missed. An interview ended early is scored on the
questions answered, and says so. A model may write the prose; anything it gets wrong falls back to this text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlmodel import Session

from core.interviewer import asking, judge
from core.interviewer.judge import CONNECTIVES, filter_evidence, strip_injection
from core.interviewer.workflow import jd_keywords, plan_items, with_content
from core.models import DIMENSIONS, SCORED_STAGES, Evaluation, InterviewSession, Message
from core.resume_interview import check_claims

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
    candidate_questions: list[str] = field(default_factory=list)  # what the candidate asked in 反问
    reached_questions: bool = False  # the interview got to 反问


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
    resume_claims: list[dict] = field(default_factory=list)  # 简历声明核验 (core.resume_interview.check_claims)


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
        if message.stage == "candidate_questions":
            inp.reached_questions = True
            if message.role == "user" and asking.asks_a_question(message.content):
                inp.candidate_questions.append(message.content)
        if not message.question_id:
            continue
        if message.role == "user":
            inp.answers.setdefault(message.question_id, []).append(message.content)
        elif message.status == "complete":
            inp.asked.add(message.question_id)
    for row in evaluations:
        inp.evaluations.setdefault(row.question_id or "", []).append(
            {"score": row.score, "evidence": list(row.evidence or []), "missed": list(row.missed or []),
             "flags": list(row.flags or []), "source": row.source, "points": list(row.points or []),
             "details": dict(row.details or {})}
        )
    return inp


def _question_entry(item: dict, inp: ReportInput, earlier: list[str]) -> dict:
    """One question's scores and decisions: the stored ones (the last evaluation covers every answer on it), or
    the evaluator's for an evaluation stored before key-point decisions were kept."""
    from core.interviewer.engine import question_bank, vocabulary_for

    answers = inp.answers.get(item["id"], [])
    rules = judge.evaluate_answer(answers=answers or [""], question=item, stage=item["stage"], language=inp.language,
                                  field_terms=inp.plan.get("field_terms", []),
                                  vocabulary=vocabulary_for(question_bank(item, "general"), inp.language),
                                  earlier=earlier)
    stored = inp.evaluations.get(item["id"], [])
    last = stored[-1] if stored else None
    points = last["points"] if last and last.get("points") else [p.public() for p in rules.points]
    score = float(last["score"]) if last else rules.score
    flags = sorted({f for row in stored for f in row["flags"]} | set(rules.flags if answers else []))
    misconception = (last or {}).get("details", {}).get("misconception") if last and last.get("points") else None
    if misconception is None and rules.misconception is not None:
        m = rules.misconception
        misconception = {"claim": m.claim, "correction": m.correction, "evidence": m.evidence}
    if not answers:
        score, flags, points = 0.0, ["empty"], [{**p, "status": "missed", "evidence": []} for p in points]
    covered = [p for p in points if p["status"] == "covered"]
    return {
        "question_id": item["id"], "stage": item["stage"], "question": item["question"],
        "answer": "\n".join(answers), "score": round(max(0.0, min(5.0, score)), 1),
        "evidence": filter_evidence([q for p in covered for q in p["evidence"]], answers),
        "covered": [{"point": p["point"], "evidence": filter_evidence(p["evidence"], answers)} for p in covered],
        "unclear": [p["point"] for p in points if p["status"] == "unclear"],
        "missed": [p["point"] for p in points if p["status"] == "missed"],
        "misconception": misconception, "flags": flags, "feedback": "", "better_answer": "",
        "_item": item, "_rules": rules,
        "_communication": 0.5 * rules.length + 0.3 * rules.structure + 0.2 * rules.specificity,
        "_logic": rules.structure, "_injection": "injection" in flags,
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
    present = {k for k, stages in (("knowledge", ("technical",)), ("project", ("project", "behavioral")))
               if scores(*stages)}
    weights = {k: w for k, w in WEIGHTS.items() if k in present or k not in ("knowledge", "project")}
    dimensions = {k: int(round(max(0.0, min(1.0, v)) * 100)) for k, v in dimensions.items()}
    answered = sum(1 for e in entries if e["answer"].strip())
    completion = 0.5 + 0.5 * min(1.0, answered / planned) if planned else 1.0
    overall = sum(w * dimensions[k] for k, w in weights.items()) / sum(weights.values()) * completion
    return int(round(max(0.0, min(100.0, overall)))), dimensions


def build_offline_report(inp: ReportInput) -> ReportData:
    """The complete report from stored evaluations and the candidate's own answers (no model).

    An interview ended early is scored on the questions answered (no penalty for the rest, and no entries for
    questions never answered); a complete one counts every scored question it asked."""
    items = [with_content(item, _banks()) for item in plan_items(inp.plan) if item["stage"] in SCORED_STAGES]
    if inp.ended_early:
        items = [item for item in items if inp.answers.get(item["id"])]
    else:
        items = [item for item in items if item["id"] in inp.asked or item["id"] in inp.answers]
    entries = []
    for item in items:
        earlier = [a for qid, texts in inp.answers.items() if qid != item["id"] for a in texts]
        entries.append(_question_entry(item, inp, earlier))
    planned = len(entries) if inp.ended_early else len([i for i in plan_items(inp.plan) if i["stage"] in SCORED_STAGES])
    overall, dimensions = compute_scores(entries, inp, planned)
    for entry in entries:
        entry["feedback"] = question_feedback(entry, inp.language)
        entry["better_answer"] = better_answer(entry, inp.language)
    strengths, improvements = strengths_and_improvements(dimensions, entries, inp)
    summary = summary_text(inp, overall, dimensions, strengths, improvements, answered=len(entries))
    claims = check_claims(inp.plan, inp.answers, inp.evaluations, inp.language)
    return ReportData(overall, dimensions, strengths, improvements, [public_entry(e) for e in entries], summary,
                      resume_claims=claims)


def _banks():
    from core.interviewer.bank import load_banks

    return load_banks()


PUBLIC_KEYS = ("question_id", "stage", "question", "answer", "score", "evidence", "covered", "unclear", "missed",
               "misconception", "feedback", "better_answer")


def public_entry(entry: dict) -> dict:
    return {key: entry[key] for key in PUBLIC_KEYS}


# -- texts ---------------------------------------------------------------------------------------------------------


def _zh(language: str) -> bool:
    return language == "zh-CN"


def _names(names: list[str], zh: bool) -> str:
    return ("、" if zh else ", ").join(names[:4])


_NUMBERS = re.compile(r"\d")


def question_feedback(entry: dict, language: str) -> str:
    """What this answer did and what it lacked, in two or three sentences, from its own decisions."""
    zh = _zh(language)
    flags, score = set(entry["flags"]), entry["score"]
    covered = [c["point"] for c in entry["covered"]]
    parts: list[str] = []
    if not entry["answer"].strip() or ("empty" in flags and score == 0):
        return "这道题没有给出有效回答。" if zh else "No real answer was given to this question."
    if "gibberish" in flags and score == 0:
        return "回答无法识别为有效内容。" if zh else "The reply could not be read as an answer."
    if "off_topic" in flags and score <= 1:
        parts.append("回答偏离了问题本身。" if zh else "The answer drifted away from the question.")
    if entry["misconception"]:
        m = entry["misconception"]
        parts.append(f"“{m['evidence']}”是一个常见误区：{m['correction']}" if zh
                     else f'"{m["evidence"]}" is a common misconception: {m["correction"]}')
    if covered:
        parts.append(f"讲清楚了：{_names(covered, zh)}。" if zh else f"You explained: {_names(covered, zh)}.")
    if entry["unclear"]:
        parts.append(f"提到了但没有展开：{_names(entry['unclear'], zh)}。" if zh
                     else f"Mentioned but not explained: {_names(entry['unclear'], zh)}.")
    if entry["missed"]:
        parts.append(f"还没有谈到：{_names(entry['missed'], zh)}。" if zh
                     else f"Not covered yet: {_names(entry['missed'], zh)}.")
    if "keyword_list" in flags:
        parts.append("这段回答更像在罗列关键词，面试官想听的是每个概念是怎么回事、为什么。" if zh
                     else "The answer reads like a list of keywords; say what each one means and why it matters.")
    if entry["stage"] in ("project", "behavioral") and not _NUMBERS.search(entry["answer"]):
        parts.append("可以用具体数字说明结果，比如耗时、转化率或错误率的变化。" if zh
                     else "Quantify the outcome: a time, a rate, an error count before and after.")
    if "injection" in flags:
        parts.append("回答中试图影响评分的内容已被忽略并扣分。" if zh
                     else "Text trying to influence the score was ignored and cost points.")
    return "".join(parts) if zh else " ".join(parts)


def better_answer(entry: dict, language: str) -> str:
    """In prose, what a stronger answer would have added: the model sentences of the points this candidate missed
    or left unexplained (never the whole rubric; empty when nothing was missing)."""
    zh = _zh(language)
    models = {p.get("point"): p.get("model") for p in entry["_item"].get("key_points") or []}
    lacking = [models.get(name) for name in [*entry["missed"], *entry["unclear"]] if models.get(name)]
    if entry["misconception"]:
        lacking.insert(0, entry["misconception"]["correction"])
    if not lacking:
        return ""
    body = "".join(lacking) if zh else " ".join(lacking)
    return ("更完整的回答还会讲到：" + body) if zh else ("A stronger answer would also say: " + body)


def _used_structure(text: str) -> bool:
    lower = text.lower()
    return sum(1 for c in CONNECTIVES if c in lower) >= 2 or bool(re.search(r"(^|\n)\s*(\d+[.、)]|[-*•])\s", text))


def strengths_and_improvements(dimensions: dict[str, int], entries: list[dict], inp: ReportInput):
    """Both from what this candidate did (never advice they already followed)."""
    zh = _zh(inp.language)
    answered = [e for e in entries if e["answer"].strip()]
    strengths: list[str] = []
    improvements: list[str] = []
    technical = [e for e in answered if e["stage"] == "technical"]
    stories = [e for e in answered if e["stage"] in ("project", "behavioral")]
    explained = sum(len(e["covered"]) for e in technical)
    total_points = sum(len(e["covered"]) + len(e["unclear"]) + len(e["missed"]) for e in technical)
    if technical and total_points and explained / total_points >= 0.6:
        strengths.append(f"技术题讲清楚了大部分要点（{explained}/{total_points}），不只是报名词" if zh else
                         f"Technical answers explained most key points ({explained}/{total_points}), not just names")
    numbered = [e for e in stories if _NUMBERS.search(e["answer"])]
    if stories and len(numbered) == len(stories):
        strengths.append("讲项目和经历时给出了具体数字，结果有说服力" if zh else
                         "Your stories came with concrete numbers, which makes the results convincing")
    if answered and all(_used_structure(e["answer"]) for e in answered if len(e["answer"]) > 80):
        if any(len(e["answer"]) > 80 for e in answered):
            strengths.append("回答有条理，层次清楚" if zh else "Answers were well organised")
    good_topics = [t for t in asking.feedback(inp.candidate_questions, inp.language).topics
                   if t in ("team", "tech_stack", "growth", "process", "challenges", "expectations")]
    if good_topics:
        strengths.append("反问环节问了有价值的问题" if zh else "You asked thoughtful questions at the end")
    misconceptions = [e["misconception"] for e in answered if e["misconception"]]
    for m in misconceptions[:2]:
        improvements.append(f"纠正误区：{m['correction']}" if zh else f"Correct a misconception: {m['correction']}")
    missed = [p for e in technical for p in e["missed"]]
    if missed:
        improvements.append(f"补上没有谈到的知识点：{_names(missed, zh)}" if zh else
                            f"Review what you did not cover: {_names(missed, zh)}")
    if any("keyword_list" in e["flags"] for e in answered):
        improvements.append("别只列关键词：挑一两个概念讲清它是什么、为什么、在项目里怎么用" if zh else
                            "Don't list keywords: explain one or two concepts properly, why they matter and how you "
                            "used them")
    if stories and not numbered:
        improvements.append("讲项目和经历时量化结果：给出前后对比的数字" if zh else
                            "Quantify the results of your stories with before-and-after numbers")
    no_result = [e for e in stories if any(p in e["missed"] for p in _result_points(e))]
    if no_result:
        improvements.append("讲故事要有结尾：说清楚最后的结果和你的收获" if zh else
                            "Finish your stories: say what the result was and what you learned")
    short = [e for e in answered if judge.text_units(e["answer"]) < 40 and e["score"] < 3]
    if answered and len(short) >= max(2, len(answered) // 2):
        improvements.append("回答偏短：多讲一层原理或一个你自己的例子" if zh else
                            "Answers were short: add one more level of how it works, or an example of your own")
    long_ones = [e for e in answered if len(e["answer"]) > 80]
    if long_ones and not any(_used_structure(e["answer"]) for e in long_ones):
        improvements.append("先给结论再展开，用“第一、第二”或“首先、其次”理清层次" if zh else
                            "Lead with the conclusion, then give the details in order (first, second ...)")
    flags = {f for e in entries for f in e["flags"]}
    if flags & {"empty", "gibberish"}:
        improvements.append("认真作答每一道题，空白或无意义的回答会直接计 0 分" if zh
                            else "Answer every question; empty or meaningless replies score zero")
    if "off_topic" in flags:
        improvements.append("回答要紧扣问题，避免答非所问" if zh else "Stay on the question that was asked")
    if "injection" in flags:
        improvements.append("专注于回答问题本身，试图操纵评分的内容不会被采纳，反而会扣分" if zh
                            else "Focus on answering; attempts to steer the scoring are ignored and cost points")
    if inp.reached_questions:
        improvements += [line for line in asking.feedback(inp.candidate_questions, inp.language).lines
                         if not inp.candidate_questions or "只问了" in line or "only asked" in line
                         or "比较泛" in line or "general" in line]
    if not strengths:
        strengths = [_fallback_strength(dimensions, entries, inp, zh)]
    if not improvements:
        improvements = ["继续保持，可以尝试更高级别的面试来挑战自己" if zh
                        else "Keep it up, and try a higher-level interview next"]
    return strengths[:4], improvements[:5]


def _result_points(entry: dict) -> list[str]:
    names = [p.get("point", "") for p in entry["_item"].get("key_points") or []]
    return [n for n in names if any(w in n.lower() for w in ("结果", "成果", "收获", "result", "outcome", "impact"))]


def _fallback_strength(dimensions: dict[str, int], entries: list[dict], inp: ReportInput, zh: bool) -> str:
    best = max(DIMENSIONS, key=lambda k: dimensions[k])
    if dimensions[best] >= 35:
        name = DIMENSION_NAMES["zh-CN" if zh else "en"][best]
        return f"{name}是相对较好的一项" if zh else f"{name.capitalize()} was your relatively best area"
    if inp.ended_early:
        return (f"迈出了第一步：练习了 {len(entries)} 道题" if zh
                else f"You made a start: {len(entries)} question(s) practised")
    return "坚持完成了整场面试流程" if zh else "You went through the whole interview"


def summary_text(inp: ReportInput, overall: int, dimensions: dict, strengths: list[str],
                 improvements: list[str], *, answered: int = 0) -> str:
    zh = _zh(inp.language)
    level = LEVEL_NAMES["zh-CN" if zh else "en"].get(inp.level, inp.level)
    if zh:
        text = (f"本次{inp.target_position}（{level}）模拟面试综合得分 {overall} 分。"
                f"主要优势：{strengths[0]}。最需要提升：{improvements[0]}。")
        if inp.ended_early:
            text += f"本次面试提前结束，得分只基于已回答的 {answered} 道题。"
        return text
    text = (f"Overall score for this {level} {inp.target_position} mock interview: {overall}/100. "
            f"Main strength: {strengths[0]}. Top priority: {improvements[0]}.")
    if inp.ended_early:
        text += f" The interview ended early, so the score covers only the {answered} question(s) answered."
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
        resume_claims=offline.resume_claims,
    )
