"""The printable report: an A4 PDF of a finished interview's report, for career coaches' one-to-one sessions.

Scores (overall and a bar chart of the five dimensions), the summary, strengths and advice, then every question with
the candidate's answer, the points covered with their own words, what was unclear or missed, a claim to correct and
the feedback. Chinese renders with reportlab's built-in CID font STSong-Light (the PDF names the Adobe font; every
reader ships a substitute), so no font file is needed on the server. Latin text uses Helvetica in English reports;
runs of CJK inside it switch to STSong-Light, so a Chinese quote in an English report still prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.engine import Engine

from core import sessions
from core.db import get_engine, session_scope
from core.display import time_zone
from core.i18n import t
from core.models import DIMENSIONS, LANGUAGES, Report
from core.sessions import SessionHistory
from core.transcript import resume_claims

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
ACCENT = colors.HexColor("#4f46e5")
MUTED = colors.HexColor("#6b7280")
QUOTE_BACKGROUND = colors.HexColor("#f3f4f6")
WARNING_BACKGROUND = colors.HexColor("#fef3c7")
MAX_ANSWER_CHARS = 4000  # an answer is at most this long already; the cap keeps a bad row from a 100-page PDF
# CJK ideographs, kana, hangul, fullwidth forms and CJK punctuation: the characters Helvetica cannot draw.
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]+")
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


class ReportNotWritten(LookupError):
    """The session is the user's but has no report yet (the interview is not finished)."""

    def __init__(self) -> None:
        super().__init__("报告尚未生成：请先完成面试 / no report yet: the interview is not complete")


# The fonts and paragraph styles of one document.
@dataclass(frozen=True)
class _Styles:
    font: str
    bold: str
    title: ParagraphStyle
    heading: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    quote: ParagraphStyle
    warning: ParagraphStyle
    score: ParagraphStyle


def _styles() -> _Styles:
    # Latin text in Helvetica in both languages (STSong-Light's Latin glyphs are cramped); CJK runs switch to the
    # CID font, which has no bold face: headings are larger and coloured instead.
    font, bold = LATIN_FONT, LATIN_BOLD
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, spaceAfter=3)
    return _Styles(
        font=font, bold=bold,
        title=ParagraphStyle("title", parent=body, fontName=bold, fontSize=18, leading=24, spaceAfter=4,
                             textColor=colors.HexColor("#111827")),
        heading=ParagraphStyle("heading", parent=body, fontName=bold, fontSize=13, leading=18, spaceBefore=10,
                               spaceAfter=5, textColor=ACCENT),
        subheading=ParagraphStyle("subheading", parent=body, fontName=bold, fontSize=11, leading=16, spaceBefore=8,
                                  spaceAfter=3, textColor=colors.HexColor("#111827")),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=8.5, leading=12, textColor=MUTED),
        # A grey box that splits across pages (a table cell cannot), for the candidate's own words.
        quote=ParagraphStyle("quote", parent=body, fontSize=9.5, leading=14, textColor=colors.HexColor("#374151"),
                             backColor=QUOTE_BACKGROUND, borderPadding=(4, 6, 4, 6), leftIndent=6, rightIndent=6,
                             spaceBefore=4, spaceAfter=8),
        warning=ParagraphStyle("warning", parent=body, backColor=WARNING_BACKGROUND, borderPadding=(4, 6, 4, 6),
                               leftIndent=6, rightIndent=6, spaceBefore=6, spaceAfter=8),
        score=ParagraphStyle("score", parent=body, fontName=bold, fontSize=30, leading=36, alignment=TA_CENTER,
                             textColor=ACCENT),
    )


def _runs(text: str) -> list[tuple[str, bool]]:
    """The text cut into (piece, is_cjk) runs."""
    runs, last = [], 0
    for match in _CJK.finditer(text):
        if match.start() > last:
            runs.append((text[last:match.start()], False))
        runs.append((match.group(), True))
        last = match.end()
    if last < len(text):
        runs.append((text[last:], False))
    return runs


def _markup(text: object) -> str:
    """Paragraph markup for plain text: escaped, line breaks kept, CJK runs in the CID font."""
    return "".join(f'<font name="{CJK_FONT}">{escape(piece)}</font>' if cjk else escape(piece)
                   for piece, cjk in _runs(str(text or ""))).replace("\n", "<br/>")


def _para(text: object, style: ParagraphStyle, styles: _Styles, *, bold_prefix: str = "") -> Paragraph:
    """A paragraph of plain text; CJK text wraps between any two characters (there are no spaces to break at)."""
    plain = str(text or "")
    if _CJK.search(plain + bold_prefix):
        style = ParagraphStyle(f"{style.name}-cjk", parent=style, wordWrap="CJK")
    prefix = f'<font name="{styles.bold}">{_markup(bold_prefix)}</font>' if bold_prefix else ""
    return Paragraph(prefix + _markup(plain), style)


def _bullets(items: list[str], styles: _Styles, style: ParagraphStyle | None = None) -> ListFlowable:
    return ListFlowable([ListItem(_para(item, style or styles.body, styles), leftIndent=12) for item in items],
                        bulletType="bullet", start="•", leftIndent=12, bulletFontName=LATIN_FONT, bulletFontSize=10,
                        bulletOffsetY=-1)


def dimension_chart(report: Report, lang: str, width: float) -> Drawing:
    """Horizontal bars of the five dimension scores (0–100), labelled with the score."""
    names = [t("dimension." + key, lang) for key in DIMENSIONS]
    values = [int(report.dimensions.get(key, 0) or 0) for key in DIMENSIONS]
    font = CJK_FONT if lang == "zh-CN" else LATIN_FONT
    label_width = max(pdfmetrics.stringWidth(name, font, 9) for name in names) + 10
    drawing = Drawing(width, 130)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = label_width, 14, width - label_width - 24, 110
    chart.data = [list(reversed(values))]  # the first dimension on top
    chart.categoryAxis.categoryNames = list(reversed(names))
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = font, 9
    chart.categoryAxis.labels.boxAnchor, chart.categoryAxis.labels.dx = "e", -4
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = LATIN_FONT, 8
    chart.valueAxis.visibleGrid, chart.valueAxis.gridStrokeColor = True, colors.HexColor("#e5e7eb")
    chart.bars[0].fillColor, chart.bars[0].strokeColor = ACCENT, None
    chart.barWidth, chart.groupSpacing = 10, 8
    chart.barLabelFormat, chart.barLabels.nudge = "%d", 8
    chart.barLabels.fontName, chart.barLabels.fontSize = LATIN_FONT, 8
    drawing.add(chart)
    return drawing


def _draw_centred(canvas, text: str, x: float, y: float, size: float) -> None:
    """One line centred on x, its CJK runs in the CID font and the rest in Helvetica."""
    runs = [(piece, CJK_FONT if cjk else LATIN_FONT) for piece, cjk in _runs(text)]
    x -= sum(pdfmetrics.stringWidth(piece, font, size) for piece, font in runs) / 2
    for piece, font in runs:
        canvas.setFont(font, size)
        canvas.drawString(x, y, piece)
        x += pdfmetrics.stringWidth(piece, font, size)


def _local_date(moment: datetime | None, lang: str) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(time_zone())
    return local.strftime("%Y年%m月%d日 %H:%M" if lang == "zh-CN" else "%d %b %Y, %H:%M")


def _details(history: SessionHistory, report: Report, lang: str, styles: _Styles, width: float) -> Table:
    s = history.session
    rows = [
        (t("new.name", lang), s.candidate_name or "—"), (t("new.position", lang), s.target_position),
        (t("new.field", lang), s.field), (t("new.level", lang), t("level." + s.level, lang)),
        (t("pdf.date", lang), _local_date(report.created_at or s.last_activity, lang)),
    ]
    cells = [[_para(label, styles.small, styles), _para(value, styles.body, styles)] for label, value in rows]
    table = Table(cells, colWidths=[28 * mm, width - 28 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _scores(report: Report, lang: str, styles: _Styles, width: float) -> Table:
    overall = [_para(t("report.overall", lang), styles.small, styles),
               Paragraph(f"{int(report.overall)}", styles.score), _para("/ 100", styles.small, styles)]
    for p in (overall[0], overall[2]):
        p.style = ParagraphStyle(f"{p.style.name}-centred", parent=p.style, alignment=TA_CENTER)
    left = 36 * mm
    table = Table([[overall, dimension_chart(report, lang, width - left)]], colWidths=[left, width - left])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOX", (0, 0), (0, 0), 0.5, colors.HexColor("#e5e7eb"))]))
    return table


def _question(number: int, item: dict, lang: str, styles: _Styles) -> list:
    """One question's block: heading, question, answer, covered with quotes, unclear, missed, correction, advice."""
    stage = t("stage." + str(item.get("stage", "")), lang)
    out: list = [CondPageBreak(40 * mm), _para(
        t("report.question_label", lang, n=number, stage=stage, score=item.get("score", "—")), styles.subheading,
        styles)]
    out.append(_para(item.get("question", ""), styles.body, styles, bold_prefix=t("report.question", lang) + "："
                     if lang == "zh-CN" else t("report.question", lang) + ": "))
    answer = str(item.get("answer") or "")
    if answer.strip():
        clipped = answer if len(answer) <= MAX_ANSWER_CHARS else answer[:MAX_ANSWER_CHARS] + "…"
        out += [_para(t("report.your_answer", lang), styles.small, styles), _para(clipped, styles.quote, styles)]
    covered = [p for p in item.get("covered") or [] if isinstance(p, dict)]
    if covered:
        lines = []
        for point in covered:
            quotes = [str(q) for q in (point.get("evidence") or [])[:1]]
            lines.append(str(point.get("point", "")) + "".join(f"：“{q}”" if lang == "zh-CN" else f': "{q}"'
                                                              for q in quotes))
        out.append(KeepTogether([_para(t("report.covered", lang), styles.small, styles), _bullets(lines, styles)]))
    elif item.get("evidence"):  # reports written before key-point decisions
        out.append(KeepTogether([_para(t("report.evidence", lang), styles.small, styles),
                                 _bullets([f"“{q}”" for q in item["evidence"]], styles)]))
    for key in ("unclear", "missed"):
        points = item.get(key) or []
        points = points if isinstance(points, list) else [points]
        if points:
            out.append(KeepTogether([_para(t("report." + key, lang), styles.small, styles),
                                     _bullets([str(p) for p in points], styles)]))
    wrong = item.get("misconception")
    if isinstance(wrong, dict) and wrong.get("correction"):
        colon = "：" if lang == "zh-CN" else ": "
        claim = f"“{wrong['evidence']}”\n" if wrong.get("evidence") else ""
        out += [_para(t("report.misconception", lang), styles.small, styles),
                _para(f"{claim}{t('report.correction', lang)}{colon}{wrong['correction']}", styles.warning, styles)]
    for key, label in (("feedback", "report.feedback"), ("better_answer", "report.better_answer")):
        if item.get(key):
            out.append(_para(item[key], styles.body, styles,
                             bold_prefix=t(label, lang) + ("：" if lang == "zh-CN" else ": ")))
    return out


def render_report_pdf(history: SessionHistory, report: Report, lang: str = "zh-CN") -> bytes:
    """The report as PDF bytes; labels in `lang`, the content as the interview wrote it."""
    lang = lang if lang in LANGUAGES else "zh-CN"
    styles = _styles()
    buffer = BytesIO()
    title = f"{t('report.title', lang)} · {history.session.display_title}"
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=title, author=t("app.title", lang),
                            subject=t("report.title", lang), lang=lang)
    width = doc.width
    story: list = [_para(title, styles.title, styles), _details(history, report, lang, styles, width),
                   Spacer(1, 8), _scores(report, lang, styles, width)]
    if report.summary:
        story += [_para(t("report.summary", lang), styles.heading, styles), _para(report.summary, styles.body, styles)]
    for key, items in (("report.strengths", report.strengths), ("report.improvements", report.improvements)):
        if items:
            story += [KeepTogether([_para(t(key, lang), styles.heading, styles),
                                    _bullets([str(i) for i in items], styles)])]
    claims = resume_claims(report)
    if claims:
        story.append(_para(t("report.resume_claims", lang), styles.heading, styles))
        for claim in claims:
            ok = claim.get("status") == "substantiated"
            project = f" · {claim['project']}" if claim.get("project") else ""
            parts = [_para(f"{claim.get('claim', '')}", styles.body, styles,
                           bold_prefix=f"{t('report.claim_ok' if ok else 'report.claim_not_ok', lang)}{project}: ")]
            quotes = [f"“{q}”" for q in (claim.get("evidence") or [])[:2]]
            if not ok and claim.get("reason"):
                quotes.append(str(claim["reason"]))
            if quotes:
                parts.append(_bullets(quotes, styles))
            story.append(KeepTogether(parts))
    if report.per_question:
        story.append(_para(t("report.per_question", lang), styles.heading, styles))
        for number, item in enumerate(report.per_question, 1):
            if isinstance(item, dict):
                story += _question(number, item, lang, styles)

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFillColor(MUTED)
        _draw_centred(canvas, t("pdf.footer", lang, app=t("app.title", lang), page=document.page), A4[0] / 2,
                      10 * mm, 8)
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def report_pdf(*, owner: str, session_id: str, lang: str | None = None, engine: Engine | None = None) -> bytes:
    """The owner's report as a PDF (labels in `lang`, default the interview's language); SessionNotFound for
    anyone else's or a missing session, ReportNotWritten while there is no report."""
    with session_scope(engine or get_engine()) as db:
        history = sessions.get_history(db=db, owner=owner, session_id=session_id)
        report = db.get(Report, session_id)
        if report is None:
            raise ReportNotWritten()
        db.expunge(report)
    return render_report_pdf(history, report, lang or history.session.language)


def pdf_file_name(session_id: str) -> str:
    return f"zhimian-report-{session_id[:8]}.pdf"
