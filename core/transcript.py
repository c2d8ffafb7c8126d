"""Downloadable transcript + report: Markdown for people, JSON for tools."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.i18n import t
from core.models import DIMENSIONS, Report
from core.sessions import SessionHistory

FORMAT_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 to the second with a Z: the columns return aware UTC on both databases."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in str(text).splitlines() or [""])


def transcript_markdown(history: SessionHistory, report: Report | None, lang: str = "zh-CN") -> str:
    """The interview as a Markdown document: details, the conversation, then the report if there is one."""
    s = history.session
    lines = [
        f"# {t('transcript.heading', lang)} · {s.display_title}",
        "",
        f"- {t('new.name', lang)}: {s.candidate_name or '—'}",
        f"- {t('new.position', lang)}: {s.target_position}",
        f"- {t('new.field', lang)}: {s.field}",
        f"- {t('new.level', lang)}: {t('level.' + s.level, lang)}",
        f"- {t('transcript.started', lang)}: {_iso(s.created_at)}",
        f"- {t('transcript.stage', lang)}: {t('stage.' + s.interview_stage, lang)}",
        "",
        f"## {t('transcript.conversation', lang)}",
        "",
    ]
    for message in history.messages:
        who = t("transcript.interviewer" if message.role == "assistant" else "transcript.candidate", lang)
        marker = f" _({t('chat.interrupted', lang)})_" if message.status == "incomplete" else ""
        lines += [f"**{who}**{marker} · {_iso(message.created_at)}", "", _quote(message.content), ""]
    if report is not None:
        lines += _report_markdown(report, lang)
    return "\n".join(lines).rstrip() + "\n"


def _report_markdown(report: Report, lang: str) -> list[str]:
    lines = [f"## {t('report.title', lang)}", "", f"**{t('report.overall', lang)}: {report.overall}/100**", ""]
    if report.summary:
        lines += [report.summary, ""]
    lines += [f"| {t('report.dimension', lang)} | {t('report.score', lang)} |", "|---|---|"]
    lines += [f"| {t('dimension.' + key, lang)} | {report.dimensions.get(key, '—')} |" for key in DIMENSIONS]
    lines.append("")
    for title_key, items in (("report.strengths", report.strengths), ("report.improvements", report.improvements)):
        if items:
            lines += [f"### {t(title_key, lang)}", "", *[f"- {item}" for item in items], ""]
    claims = resume_claims(report)
    if claims:
        lines += [f"### {t('report.resume_claims', lang)}", ""]
        for claim in claims:
            ok = claim.get("status") == "substantiated"
            project = f" · {claim['project']}" if claim.get("project") else ""
            lines.append(f"- **{t('report.claim_ok' if ok else 'report.claim_not_ok', lang)}**{project}: "
                         f"{claim.get('claim', '')}")
            lines += [f"  > {_quote(str(q))}" for q in (claim.get("evidence") or [])[:2]]
            if not ok and claim.get("reason"):
                lines.append(f"  *{claim['reason']}*")
        lines.append("")
    if report.per_question:
        lines += [f"### {t('report.per_question', lang)}", ""]
        for number, item in enumerate(report.per_question, 1):
            lines += _question_markdown(number, item, lang)
    return lines


def resume_claims(report: Report) -> list[dict[str, Any]]:
    """The report's 简历声明核验 entries (empty for an interview without a resume)."""
    return [claim for claim in getattr(report, "resume_claims", None) or [] if isinstance(claim, dict)]


def _question_markdown(number: int, item: dict[str, Any], lang: str) -> list[str]:
    lines = [
        f"#### {number}. {item.get('question', '')}",
        "",
        f"- {t('report.stage', lang)}: {t('stage.' + str(item.get('stage', '')), lang)}",
        f"- {t('report.score', lang)}: {item.get('score', '—')}/5",
        "",
    ]
    if item.get("answer"):
        lines += [f"**{t('report.your_answer', lang)}**", "", _quote(item["answer"]), ""]
    covered = [p for p in item.get("covered") or [] if isinstance(p, dict)]
    if covered:
        lines += [f"**{t('report.covered', lang)}**", ""]
        lines += [f"- {p.get('point', '')}" + "".join(f": “{q}”" for q in (p.get("evidence") or [])[:1])
                  for p in covered]
        lines.append("")
    elif item.get("evidence"):
        lines += [f"**{t('report.evidence', lang)}**", "", *[f"- “{quote}”" for quote in item["evidence"]], ""]
    for key in ("unclear", "missed"):
        if item.get(key):
            points = item[key] if isinstance(item[key], list) else [item[key]]
            lines += [f"**{t('report.' + key, lang)}**", "", *[f"- {point}" for point in points], ""]
    wrong = item.get("misconception")
    if isinstance(wrong, dict) and wrong.get("correction"):
        lines += [f"**{t('report.misconception', lang)}**", ""]
        if wrong.get("evidence"):
            lines += [f"- “{wrong['evidence']}”"]
        lines += [f"- {t('report.correction', lang)}: {wrong['correction']}", ""]
    for key, label in (("feedback", "report.feedback"), ("better_answer", "report.better_answer")):
        if item.get(key):
            lines += [f"**{t(label, lang)}**", "", str(item[key]), ""]
    return lines


def transcript_json(history: SessionHistory, report: Report | None) -> dict[str, Any]:
    """The same content as plain JSON-ready data (ISO-8601 UTC times)."""
    s = history.session
    return {
        "format_version": FORMAT_VERSION,
        "session": {
            "id": s.id, "title": s.display_title, "candidate_name": s.candidate_name,
            "target_position": s.target_position, "field": s.field, "level": s.level, "language": s.language,
            "job_description": s.job_description, "interview_stage": s.interview_stage,
            "is_complete": s.is_complete, "ended_early": s.ended_early, "created_at": _iso(s.created_at),
            "last_activity": _iso(s.last_activity), "message_count": s.message_count,
        },
        "messages": [
            {"id": m.id, "role": m.role, "content": m.content, "created_at": _iso(m.created_at), "status": m.status,
             "stage": m.stage, "kind": m.kind}
            for m in history.messages
        ],
        "report": None if report is None else {
            "overall": report.overall, "dimensions": dict(report.dimensions), "strengths": list(report.strengths),
            "improvements": list(report.improvements), "per_question": list(report.per_question),
            "resume_claims": resume_claims(report),
            "summary": report.summary, "source": report.source, "created_at": _iso(report.created_at),
            "updated_at": _iso(report.updated_at),
        },
    }
