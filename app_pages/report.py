"""Interview report: overall score, five dimensions, strengths, improvements, per-question feedback, exports."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import streamlit as st

from core import report_pdf, sessions
from core.interviewer import turns
from core.models import Report
from core.ratelimit import RateLimited
from core.transcript import DIMENSIONS, transcript_json, transcript_markdown
from ui import common as c
from ui.resume import render_resume_claims
from ui.sidebar import escape_markdown

REPORT_ERROR = "zm_report_error"

ctx = c.page_context()


def generate(regenerate: bool) -> None:
    st.session_state.pop(REPORT_ERROR, None)
    try:
        with st.spinner(c.tr("report.generating")):
            turns.generate_report(owner=ctx.user.username, session_id=ctx.session_id, regenerate=regenerate,
                                  engine=c.engine())
    except turns.TurnFailed as exc:
        st.session_state[REPORT_ERROR] = {"session": ctx.session_id, "message": exc.in_language(c.lang()).message,
                                          "code": exc.code}
    except RateLimited as exc:  # regenerating with a model is limited per user (REPORT_RATE_LIMIT)
        st.session_state[REPORT_ERROR] = {"session": ctx.session_id, "code": "rate_limited",
                                          "message": c.tr("usage.report_rate_limited", n=exc.retry_after)}
    except turns.ReportNotReady:
        pass  # the page says the interview is not finished
    st.rerun()


def failure_with_retry(regenerate: bool) -> None:
    error = st.session_state.get(REPORT_ERROR)
    if error and error["session"] == ctx.session_id:
        st.error(f"**{c.tr('chat.err_llm')}** {error['message']}\n\n{c.tr('chat.err_code', code=error['code'])}",
                 icon=":material/error:")
        if st.button(c.tr("chat.retry"), key="zm_report_retry", icon=":material/refresh:"):
            generate(regenerate)


def dimension_chart(report: Report) -> None:
    data = pd.DataFrame({
        "dimension": [c.tr("dimension." + key) for key in DIMENSIONS],
        "score": [int(report.dimensions.get(key, 0) or 0) for key in DIMENSIONS],
    })
    st.vega_lite_chart(data, {
        "height": 200,
        "mark": {"type": "bar", "cornerRadiusEnd": 4, "color": "#4f46e5"},
        "encoding": {
            "y": {"field": "dimension", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100]},
                  "title": c.tr("report.score")},
            "tooltip": [{"field": "dimension", "title": c.tr("report.dimension")},
                        {"field": "score", "title": c.tr("report.score")}],
        },
    }, width="stretch")


def question_feedback(number: int, item: dict) -> None:
    stage = c.tr("stage." + str(item.get("stage", "")))
    label = c.tr("report.question_label", n=number, stage=stage, score=item.get("score", "—"))
    with st.expander(f"{label} — {escape_markdown(str(item.get('question', '')))[:80]}"):
        st.markdown(f"**{c.tr('report.question')}**  \n{escape_markdown(str(item.get('question', '')))}")
        if item.get("answer"):
            st.markdown(f"**{c.tr('report.your_answer')}**")
            st.text(str(item["answer"]))
        covered = [p for p in item.get("covered") or [] if isinstance(p, dict)]
        if covered:  # each point with the candidate's own words
            st.markdown(f"**{c.tr('report.covered')}**")
            st.markdown("\n".join(
                f"- :green[:material/check:] {escape_markdown(str(p.get('point', '')))}"
                + "".join(f"  \n  “{escape_markdown(str(q))}”" for q in (p.get("evidence") or [])[:1])
                for p in covered))
        elif item.get("evidence"):  # reports written before key-point decisions
            st.markdown(f"**{c.tr('report.evidence')}**")
            st.markdown("\n".join(f"> “{escape_markdown(str(q))}”\n>" for q in item["evidence"]))
        for key, icon in (("unclear", ":orange[:material/help:]"), ("missed", ":red[:material/close:]")):
            points = item.get(key) or []
            points = points if isinstance(points, list) else [points]
            if points:
                st.markdown(f"**{c.tr('report.' + key)}**\n\n"
                            + "\n".join(f"- {icon} {escape_markdown(str(m))}" for m in points))
        wrong = item.get("misconception")
        if isinstance(wrong, dict) and wrong.get("correction"):
            quoted = f"“{escape_markdown(str(wrong['evidence']))}”\n\n" if wrong.get("evidence") else ""
            st.warning(f"**{c.tr('report.misconception')}**\n\n{quoted}"
                       f"**{c.tr('report.correction')}**: {escape_markdown(str(wrong['correction']))}",
                       icon=":material/report:")
        if item.get("feedback"):
            st.markdown(f"**{c.tr('report.feedback')}**  \n{item['feedback']}")
        if item.get("better_answer"):
            st.markdown(f"**{c.tr('report.better_answer')}**")
            st.info(str(item["better_answer"]), icon=":material/lightbulb:")


def bullet_list(title_key: str, items: list, icon: str) -> None:
    st.markdown(f"#### {c.tr(title_key)}")
    for item in items or []:
        st.markdown(f"{icon} {item}")


def downloads(history: sessions.SessionHistory, report: Report | None) -> None:
    st.markdown(f"#### {c.tr('report.downloads')}")
    name = f"zhimian-{history.session.id[:8]}"
    if report is not None:  # built only when clicked (a callable), in the language the page is shown in
        st.download_button(c.tr("report.download_pdf"), file_name=report_pdf.pdf_file_name(history.session.id),
                           data=partial(report_pdf.report_pdf, owner=ctx.user.username, session_id=history.session.id,
                                        lang=ctx.lang, engine=c.engine()),
                           mime="application/pdf", icon=":material/picture_as_pdf:", on_click="ignore",
                           key="zm_download_pdf", type="primary", width="stretch")
    left, right = st.columns(2)
    left.download_button(c.tr("report.download_md"), transcript_markdown(history, report, ctx.lang),
                         file_name=f"{name}.md", mime="text/markdown", icon=":material/description:",
                         on_click="ignore", key="zm_download_md", width="stretch")
    right.download_button(c.tr("report.download_json"),
                          json.dumps(transcript_json(history, report), ensure_ascii=False, indent=2),
                          file_name=f"{name}.json", mime="application/json", icon=":material/data_object:",
                          on_click="ignore", key="zm_download_json", width="stretch")


st.title(c.tr("report.title"))
if not ctx.session_id:
    st.info(c.tr("report.no_session"), icon=":material/info:")
    st.page_link(c.PAGE_NEW, label=c.tr("nav.new"), icon=":material/add_circle:", query_params=c.link_params())
    st.stop()

history, report = c.load_open_session(
    ctx, lambda: turns.get_report(owner=ctx.user.username, session_id=ctx.session_id, engine=c.engine())
)

st.caption(f"{escape_markdown(history.session.display_title)} · {c.tr('level.' + history.session.level)}")

if report is None:
    if history.session.is_complete:
        st.info(c.tr("report.missing"), icon=":material/hourglass_empty:")
        failure_with_retry(regenerate=False)
        if st.button(c.tr("report.generate"), key="zm_report_generate", type="primary", icon=":material/auto_awesome:"):
            generate(regenerate=False)
    else:
        st.info(c.tr("report.not_complete"), icon=":material/info:")
        st.page_link(c.PAGE_CHAT, label=c.tr("report.back_to_chat"), icon=":material/forum:",
                     query_params=c.link_params())
    downloads(history, None)
    st.stop()

score_col, chart_col = st.columns([1, 3], vertical_alignment="center")
score_col.metric(c.tr("report.overall"), f"{report.overall}/100")
with chart_col:
    dimension_chart(report)
if report.summary:
    st.markdown(f"#### {c.tr('report.summary')}")
    st.write(report.summary)
left, right = st.columns(2)
with left:
    bullet_list("report.strengths", report.strengths, ":material/thumb_up:")
with right:
    bullet_list("report.improvements", report.improvements, ":material/trending_up:")

render_resume_claims(report)

if report.per_question:
    st.markdown(f"#### {c.tr('report.per_question')}")
    for number, item in enumerate(report.per_question, 1):
        question_feedback(number, item)

if ctx.user.has_any_role("staff"):  # what the model cost this interview (nothing for the offline interviewer)
    used = turns.interview_usage(owner=ctx.user.username, session_id=ctx.session_id, engine=c.engine())
    if used.calls:
        cost = f"${used.cost_usd:.4f}" if used.cost_usd is not None else c.tr("usage.cost_unknown")
        st.caption(c.tr("usage.caption", calls=used.calls, tokens=f"{used.tokens:,}", seconds=used.seconds,
                        cost=cost))
failure_with_retry(regenerate=True)
if st.button(c.tr("report.regenerate"), key="zm_report_regenerate", icon=":material/refresh:"):
    generate(regenerate=True)
downloads(history, report)
