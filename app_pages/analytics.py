"""Practice statistics for staff and analysts: filters, headline numbers, charts, the sessions table, exports."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st
from babel.dates import format_skeleton

from core import stats
from core.config import get_settings
from core.i18n import BABEL_LOCALES, t
from core.models import LEVELS, utcnow
from ui.common import ANALYTICS_ROLES, USER, engine
from ui.common import lang as current_lang

FRAME_TTL_SECONDS = 60

lang = current_lang()


def current_roles() -> set[str]:
    """The signed-in user's roles (none when the page runs without app.py's login gate)."""
    return set(getattr(st.session_state.get(USER), "roles", ()))


def viewer_zone() -> str:
    """The browser's IANA time zone, or stats.DEFAULT_TIMEZONE when it is unknown or not a zone."""
    return stats.time_zone(st.context.timezone).key


# `url` is part of the cache key: the frame belongs to the configured database (engine() uses the same URL).
@st.cache_data(ttl=FRAME_TTL_SECONDS, show_spinner=False)
def load_frame(url: str, filters: stats.SessionFilters, include_names: bool, tz: str) -> pd.DataFrame:
    return stats.load_sessions(engine=engine(), filters=filters, include_names=include_names, tz=tz)


@st.cache_data(ttl=FRAME_TTL_SECONDS, show_spinner=False)
def load_fields(url: str) -> list[str]:
    return stats.list_fields(engine=engine())


def date_range_filter(tz: str) -> tuple[date | None, date | None]:
    today = utcnow().astimezone(stats.time_zone(tz)).date()
    chosen = st.date_input(t("analytics.filter_dates", lang), value=(today - timedelta(days=29), today),
                           key="analytics_dates")
    if isinstance(chosen, date):
        return chosen, chosen
    chosen = tuple(chosen or ())
    if len(chosen) == 2:
        return chosen[0], chosen[1]
    # While a range is being picked only its first day is set.
    return (chosen[0], chosen[0]) if chosen else (None, None)


def filters_form(fields: list[str], tz: str) -> stats.SessionFilters:
    date_col, field_col, level_col, done_col = st.columns([2, 2, 1, 1])
    with date_col:
        date_from, date_to = date_range_filter(tz)
    with field_col:
        field = st.selectbox(t("analytics.filter_field", lang), [None, *fields], key="analytics_field",
                             format_func=lambda f: t("analytics.all", lang) if f is None else f)
    with level_col:
        level = st.selectbox(t("analytics.filter_level", lang), [None, *LEVELS], key="analytics_level",
                             format_func=lambda lv: t("analytics.all", lang) if lv is None else t(f"level.{lv}", lang))
    with done_col:
        completed = st.selectbox(t("analytics.filter_completed", lang), [None, True, False], key="analytics_completed",
                                 format_func=_completed_label)
    return stats.SessionFilters(date_from=date_from, date_to=date_to, field=field, level=level, completed=completed)


def _completed_label(value: bool | None) -> str:
    if value is None:
        return t("analytics.all", lang)
    return t("analytics.completed_yes" if value else "analytics.completed_no", lang)


def show_headline(frame: pd.DataFrame) -> None:
    numbers = stats.headline(frame)
    rate = "—" if numbers.completion_rate is None else f"{numbers.completion_rate:.0%}"
    score = "—" if numbers.mean_score is None else f"{numbers.mean_score:.1f}"
    cells = st.columns(6)
    cells[0].metric(t("analytics.metric_sessions", lang), f"{numbers.sessions:,}")
    cells[1].metric(t("analytics.metric_candidates", lang), f"{numbers.candidates:,}")
    cells[2].metric(t("analytics.metric_completion", lang), rate,
                    help=t("analytics.completion_help", lang, n=numbers.ended_early))
    cells[3].metric(t("analytics.metric_score", lang), score)
    cells[4].metric(t("analytics.metric_tokens", lang), f"{numbers.tokens:,}")
    cells[5].metric(t("analytics.metric_cost", lang), f"${numbers.cost_usd:,.2f}")


def show_charts(frame: pd.DataFrame) -> None:
    sessions_label, completed_label = t("analytics.metric_sessions", lang), t("analytics.completed_yes", lang)
    left, right = st.columns(2)
    with left:
        st.subheader(t("analytics.chart_daily", lang))
        show_daily(stats.daily_counts(frame), sessions_label, completed_label)
    with right:
        st.subheader(t("analytics.chart_fields", lang))
        fields = stats.field_summary(frame)
        st.bar_chart(fields, x="field", y="sessions", x_label="", y_label=sessions_label, horizontal=True,
                     sort="-sessions")
    left, right = st.columns(2)
    with left:
        st.subheader(t("analytics.chart_funnel", lang))
        funnel = stats.stage_funnel(frame).assign(stage=lambda f: [t(f"stage.{s}", lang) for s in f["stage"]])
        st.bar_chart(funnel, x="stage", y="sessions", x_label="", y_label=sessions_label, horizontal=True,
                     sort=False)
    with right:
        st.subheader(t("analytics.chart_scores", lang))
        scores = stats.score_distribution(frame)
        if scores["sessions"].sum():
            st.bar_chart(scores, x="band", y="sessions", x_label=t("analytics.score", lang), y_label=sessions_label,
                         sort=False)
        else:  # an empty chart with a "0.000000" axis says less than a sentence
            st.caption(t("analytics.no_scores", lang))
    left, right = st.columns(2)
    with left:
        st.subheader(t("analytics.chart_dimensions", lang))
        dims = stats.dimension_means(frame).assign(
            dimension=lambda f: [t(f"dimension.{d}", lang) for d in f["dimension"]]
        )
        if dims["mean_score"].notna().any():
            st.bar_chart(dims, x="dimension", y="mean_score", x_label="", y_label=t("analytics.score", lang),
                         sort=False)
        else:
            st.caption(t("analytics.no_scores", lang))
    with right:
        st.subheader(t("analytics.table_fields", lang))
        st.dataframe(fields, hide_index=True, column_config={
            "field": t("analytics.filter_field", lang),
            "sessions": sessions_label,
            "completion_rate": st.column_config.NumberColumn(t("analytics.metric_completion", lang), format="percent"),
            "mean_score": st.column_config.NumberColumn(t("analytics.metric_score", lang), format="%.1f"),
            "mean_duration_minutes": st.column_config.NumberColumn(t("analytics.mean_duration", lang),
                                                                   format="%.0f"),
        })


def day_label(day) -> str:
    """'11月26日' / 'Nov 26': a chart axis in the UI language (Vega-Lite's own date labels are English)."""
    return format_skeleton("MMMd", day, locale=BABEL_LOCALES[lang])


def show_daily(daily: pd.DataFrame, sessions_label: str, completed_label: str) -> None:
    """Interviews started and completed per day; one day is two plain figures, not a chart with a single point."""
    if len(daily) == 1:
        day = daily.iloc[0]
        st.caption(t("analytics.one_day", lang, day=day_label(day["date"])))
        cells = st.columns(2)
        cells[0].metric(sessions_label, f"{day['sessions']:,}")
        cells[1].metric(completed_label, f"{day['completed']:,}")
        return
    long = daily.assign(day=[day_label(d) for d in daily["date"]]).melt(
        id_vars=["date", "day"], value_vars=["sessions", "completed"], var_name="series", value_name="count")
    long["series"] = long["series"].map({"sessions": sessions_label, "completed": completed_label})
    days = list(dict.fromkeys(long.sort_values("date")["day"]))  # calendar order, not alphabetical
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("day:O", sort=days, title=None, axis=alt.Axis(labelAngle=0, labelOverlap=True)),
        y=alt.Y("count:Q", title=None, axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=[sessions_label, completed_label],
                                                                 range=["#2563eb", "#16a34a"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("day:O", title=t("analytics.day", lang)), alt.Tooltip("series:N", title=" "),
                 alt.Tooltip("count:Q", title=" ")],
    )
    st.altair_chart(chart)


def session_table_columns(columns) -> dict:
    """Readable headers in the UI language for the sessions table; the data (and so every export) keeps the stable
    machine-readable names, shown on hover."""
    formats = {
        "created_at": lambda label, hint: st.column_config.DatetimeColumn(label, help=hint, format="YYYY-MM-DD HH:mm"),
        "last_activity": lambda label, hint: st.column_config.DatetimeColumn(label, help=hint,
                                                                             format="YYYY-MM-DD HH:mm"),
        "created_date_local": lambda label, hint: st.column_config.DateColumn(label, help=hint, format="YYYY-MM-DD"),
        "cost_usd": lambda label, hint: st.column_config.NumberColumn(label, help=hint, format="$%.4f"),
        "model_seconds": lambda label, hint: st.column_config.NumberColumn(label, help=hint, format="%.1f s"),
        "is_complete": lambda label, hint: st.column_config.CheckboxColumn(label, help=hint),
        "ended_early": lambda label, hint: st.column_config.CheckboxColumn(label, help=hint),
    }
    config = {}
    for column in columns:
        label = column_label(column)
        hint = t("analytics.column_help", lang, name=column)
        make = formats.get(column)
        config[column] = make(label, hint) if make else st.column_config.Column(label, help=hint)
    return config


def column_label(column: str) -> str:
    if column.startswith("score_") and column != "score_overall":
        return t("analytics.col.score_dimension", lang, dimension=t("dimension." + column.removeprefix("score_"), lang))
    return t("analytics.col." + column, lang)


def local_times(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The frame with its UTC timestamps shown in the viewer's zone (exports keep UTC)."""
    return frame.assign(**{column: frame[column].dt.tz_localize("UTC").dt.tz_convert(tz)
                           for column in ("created_at", "last_activity")})


def show_exports(frame: pd.DataFrame, tz: str) -> None:
    st.caption(t("analytics.export_hint", lang, tz=tz))
    cells = st.columns(len(stats.EXPORT_FORMATS))
    for cell, fmt in zip(cells, stats.EXPORT_FORMATS, strict=True):
        # A callable is only run when the button is clicked, so unused formats cost nothing.
        cell.download_button(
            t("analytics.download", lang, fmt=fmt.upper()), data=lambda fmt=fmt: stats.export_frame(frame, fmt).content,
            file_name=stats.export_filename(fmt), mime=stats.MEDIA_TYPES[fmt], key=f"analytics_export_{fmt}",
            icon=":material/download:", on_click="ignore",
        )


roles = current_roles()
if not roles & set(ANALYTICS_ROLES):
    st.error(t("analytics.forbidden", lang))
    st.stop()

st.set_page_config(layout="wide")  # six headline numbers and paired charts need the room
settings = get_settings()
# Analysts never see names; staff only when the deployment allows it.
include_names = stats.export_includes_names(roles, settings)

zone = viewer_zone()

st.title(t("analytics.title", lang))
st.caption(t("analytics.subtitle", lang, tz=zone))
filters = filters_form(load_fields(settings.DATABASE_URL), zone)
with st.spinner(t("analytics.loading", lang)):
    frame = load_frame(settings.DATABASE_URL, filters, include_names, zone)
show_headline(frame)
if frame.empty:
    st.info(t("analytics.empty", lang))
else:
    show_charts(frame)
st.subheader(t("analytics.table_sessions", lang))
st.dataframe(local_times(frame, zone), hide_index=True, column_config=session_table_columns(frame.columns))
show_exports(frame, zone)
