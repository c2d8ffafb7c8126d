"""My progress: scores over time, practice per week, the points missed most, with one-click drills on them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import progress
from core.display import time_zone
from core.models import DIMENSIONS
from ui import common as c
from ui.sidebar import escape_markdown

WEAK_POINTS_SHOWN = 8
TOPICS_SHOWN = 5

ctx = c.page_context()


def drill_link(question_id: str) -> None:
    """One click to the question drill on this question (the drill page reads ?question=<id>)."""
    st.page_link(c.PAGE_DRILL, label=c.tr("progress.drill"), icon=":material/fitness_center:",
                 query_params=c.link_params() | {"question": question_id})


def empty_state() -> None:
    st.info(c.tr("progress.empty"), icon=":material/trending_up:")
    left, right = st.columns(2)
    with left:
        st.page_link(c.PAGE_NEW, label=c.tr("progress.start_interview"), icon=":material/add_circle:",
                     query_params=c.link_params())
    with right:
        st.page_link(c.PAGE_DRILL, label=c.tr("progress.open_drills"), icon=":material/fitness_center:",
                     query_params=c.link_params())


def headline(data: progress.ProgressPublic) -> None:
    completed, drilled, latest, best = st.columns(4)
    completed.metric(c.tr("progress.completed"), data.interviews_completed)
    drilled.metric(c.tr("progress.drills"), data.drill_attempts)
    latest.metric(c.tr("progress.latest"), "—" if data.latest_overall is None else f"{data.latest_overall}/100",
                  delta=data.overall_change, help=c.tr("progress.change_help"))
    best.metric(c.tr("progress.best"), "—" if data.best_overall is None else f"{data.best_overall}/100")


def score_chart(data: progress.ProgressPublic) -> None:
    """Overall (thick) and the five dimensions over time, one point per finished interview."""
    zone = time_zone()
    overall = c.tr("report.overall")
    rows = []
    for n, point in enumerate(data.scores, 1):
        when = point.finished_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        rows.append({"when": when, "n": n, "series": overall, "score": point.overall, "title": point.title})
        rows += [{"when": when, "n": n, "series": c.tr("dimension." + key), "score": point.dimensions.get(key, 0),
                  "title": point.title} for key in DIMENSIONS]
    st.vega_lite_chart(pd.DataFrame(rows), {
        "height": 260,
        "mark": {"type": "line", "point": True, "interpolate": "monotone"},
        "encoding": {
            "x": {"field": "when", "type": "temporal", "title": c.tr("progress.date"),
                  "axis": {"format": "%m-%d", "tickCount": {"interval": "day", "step": 1}, "labelOverlap": True}},
            "y": {"field": "score", "type": "quantitative", "scale": {"domain": [0, 100]},
                  "title": c.tr("report.score")},
            "color": {"field": "series", "type": "nominal", "title": c.tr("progress.series"),
                      "sort": [overall, *(c.tr("dimension." + k) for k in DIMENSIONS)]},
            "strokeWidth": {"condition": {"test": f"datum.series === {overall!r}", "value": 4}, "value": 1.5},
            "opacity": {"condition": {"test": f"datum.series === {overall!r}", "value": 1}, "value": 0.6},
            "tooltip": [{"field": "title", "title": c.tr("progress.interview")},
                        {"field": "when", "type": "temporal", "title": c.tr("progress.date"),
                         "format": "%Y-%m-%d %H:%M"},
                        {"field": "series", "title": c.tr("progress.series")},
                        {"field": "score", "title": c.tr("report.score")}],
        },
    }, width="stretch")


def weekly_chart(data: progress.ProgressPublic) -> None:
    kinds = {"interviews": c.tr("progress.kind_interviews"), "drills": c.tr("progress.kind_drills")}
    rows = [{"week": week.week_start.isoformat(), "kind": label, "count": getattr(week, key)}
            for week in data.weeks for key, label in kinds.items()]
    st.vega_lite_chart(pd.DataFrame(rows), {
        "height": 180,
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "x": {"field": "week", "type": "ordinal", "title": c.tr("progress.week"),
                  "axis": {"labelAngle": -40}},
            "y": {"field": "count", "type": "quantitative", "title": c.tr("progress.count"),
                  "axis": {"tickMinStep": 1}},
            "color": {"field": "kind", "type": "nominal", "title": c.tr("progress.kind"),
                      "scale": {"domain": list(kinds.values()), "range": ["#4f46e5", "#f59e0b"]}},
            "tooltip": [{"field": "week", "title": c.tr("progress.week")},
                        {"field": "kind", "title": c.tr("progress.kind")},
                        {"field": "count", "title": c.tr("progress.count")}],
        },
    }, width="stretch")


def weak_point(point: progress.PointProgress) -> None:
    with st.container(border=True):
        text, action = st.columns([4, 1.3], vertical_alignment="center")
        status = c.tr("progress.last_missed" if point.last_status == "missed" else "progress.last_unclear")
        counts = c.tr("progress.missed_times", n=point.times_missed)
        if point.times_covered:
            counts += " · " + c.tr("progress.covered_times", n=point.times_covered)
        text.markdown(f"**{escape_markdown(point.point)}**  \n:red[{counts}] · {status}")
        text.caption(c.tr("progress.in_question", question=escape_markdown(point.question)))
        if point.drillable and point.question_id:
            with action:
                drill_link(point.question_id)


def weak_topic(topic: progress.TopicProgress) -> None:
    with st.container(border=True):
        text, action = st.columns([4, 1.3], vertical_alignment="center")
        text.markdown(f"**{escape_markdown(topic.question)}**")
        text.caption(c.tr("stage." + topic.stage) + " · " + c.tr(
            "progress.topic_line", avg=topic.average_score, last=topic.last_score, n=topic.attempts))
        if topic.drillable and topic.question_id:
            with action:
                drill_link(topic.question_id)


st.title(c.tr("progress.title"))
st.caption(c.tr("progress.caption"))
with st.spinner(c.tr("chat.loading_history")):
    data = progress.get_progress(owner=ctx.user.username, engine=c.engine())
if data.is_empty:
    empty_state()
    st.stop()

headline(data)
st.subheader(c.tr("progress.scores_title"))
if data.scores:
    score_chart(data)
    averages = data.dimension_averages
    st.caption(c.tr("progress.dimension_averages", n=min(5, len(data.scores)),
                    scores=" · ".join(f"{c.tr('dimension.' + k)} {averages[k]}" for k in DIMENSIONS),
                    weakest=c.tr("dimension." + min(DIMENSIONS, key=lambda k: averages[k]))))
else:
    st.info(c.tr("progress.scores_none"), icon=":material/show_chart:")
st.subheader(c.tr("progress.weekly_title"))
weekly_chart(data)

st.subheader(c.tr("progress.weak_title"))
st.caption(c.tr("progress.weak_caption"))
if not data.weak_points:
    st.success(c.tr("progress.weak_none"), icon=":material/check_circle:")
for point in data.weak_points[:WEAK_POINTS_SHOWN]:
    weak_point(point)
if data.improved_points:
    with st.expander(f"{c.tr('progress.improved_title')} ({len(data.improved_points)})", icon=":material/check:"):
        st.markdown("\n".join(
            f"- :green[:material/check:] **{escape_markdown(p.point)}** · "
            f"{escape_markdown(p.question[:60])}" for p in data.improved_points))

weakest = [t for t in data.weak_topics if t.average_score < 5][:TOPICS_SHOWN]
if weakest:
    st.subheader(c.tr("progress.topics_title"))
    for topic in weakest:
        weak_topic(topic)
