"""The sidebar session list (the seed's renderSessionList) and the delete confirmation."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import streamlit as st
from babel.dates import format_skeleton

from core import sessions
from core.db import session_scope
from core.display import activity_group, field_icon, session_status, time_zone
from core.i18n import BABEL_LOCALES, relative_time, session_meta
from core.models import SessionSummary, utcnow
from ui import common as c
from ui.login import request_logout

SEARCH_THRESHOLD = 8  # a search box appears above this many sessions
PAGE_SIZE = 30  # cards rendered at first; "show more" adds as many again
GROUPS = ("today", "yesterday", "week", "older")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|:~<>$])")



def escape_markdown(text: str) -> str:
    """User text inside a Markdown label: no directive, link or emphasis can sneak in."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render_sidebar(*, summaries: list[SessionSummary], open_id: str | None) -> None:
    """New-interview button, the grouped session list, the account box."""
    with st.sidebar:
        if st.button(c.tr("sidebar.new"), icon=":material/add:", type="primary", width="stretch",
                     key="zm_new_interview"):
            c.go_to(c.PAGE_NEW)
        session_list(summaries, open_id)
        st.divider()
        _account_box()


@st.fragment
def session_list(summaries: list[SessionSummary], open_id: str | None) -> None:
    """Search and cards; a fragment, so searching or paging reruns only the list."""
    if st.session_state.pop(c.APP_RERUN, False):  # a card or delete click: the whole app must react
        st.rerun(scope="app")
    lang = c.lang()
    if not summaries:
        st.caption(c.tr("sidebar.empty"))
        return
    shown = summaries
    if len(summaries) > SEARCH_THRESHOLD:
        query = st.text_input(c.tr("sidebar.search"), key="zm_search", placeholder=c.tr("sidebar.search_placeholder"),
                              icon=":material/search:", label_visibility="collapsed").strip().casefold()
        if query:
            shown = [s for s in summaries if query in s.title.casefold() or query in s.target_position.casefold()]
            if not shown:
                st.caption(c.tr("sidebar.no_match"))
    limit = st.session_state.get("zm_list_limit", PAGE_SIZE)
    now, tz = utcnow(), st.context.timezone
    duplicates = _duplicate_titles(summaries)
    group = None
    for index, summary in enumerate(shown):
        if index >= limit and summary.session_id != open_id:
            continue
        current_group = activity_group(summary.last_activity, now, tz)
        if current_group != group:
            group = current_group
            st.caption(f"**{c.tr('group.' + group)}**")
        _card(summary, active=summary.session_id == open_id, lang=lang, now=now, tz=tz,
              twin=duplicates.get(summary.title.casefold()))
    if len(shown) > limit:
        st.button(c.tr("sidebar.more", n=len(shown) - limit), key="zm_more", type="tertiary",
                  icon=":material/expand_more:", on_click=_show_more, width="stretch")


def _show_more() -> None:
    st.session_state["zm_list_limit"] = st.session_state.get("zm_list_limit", PAGE_SIZE) + PAGE_SIZE


def _duplicate_titles(summaries: list[SessionSummary]) -> dict[str, str]:
    """Titles shared by several sessions -> what tells them apart on their cards: 'level' when the levels differ,
    else 'start' (the start time)."""
    groups: dict[str, list[SessionSummary]] = {}
    for summary in summaries:
        groups.setdefault(summary.title.casefold(), []).append(summary)
    return {
        title: "level" if max(Counter(s.level for s in group).values()) == 1 else "start"
        for title, group in groups.items() if len(group) > 1
    }


def _started(moment: datetime, lang: str, now: datetime, tz: str | None) -> str:
    """'14:05' today, '11月24日 14:05' / 'Nov 24 14:05' before, in the viewer's zone."""
    zone = time_zone(tz)
    local, locale = moment.astimezone(zone), BABEL_LOCALES.get(lang, "zh_Hans_CN")
    time = format_skeleton("Hm", local, locale=locale)
    if local.date() == now.astimezone(zone).date():
        return time
    return f"{format_skeleton('MMMd', local, locale=locale)} {time}"


def _card(summary: SessionSummary, *, active: bool, lang: str, now: datetime, tz: str | None,
          twin: str | None) -> None:
    """Two lines: icon, title (one line, cut with an ellipsis) and delete; the badge and meta (one line)."""
    sid = summary.session_id
    status = session_status(message_count=summary.message_count, is_complete=summary.is_complete,
                            stage=summary.interview_stage)
    level = c.tr("level." + summary.level)
    started = c.tr("sidebar.started_at", time=_started(summary.created_at, lang, now, tz))
    meta = [relative_time(summary.last_activity, lang, now=now),
            session_meta(summary.message_count, summary.duration_minutes, lang)]
    if twin:  # same title as another card: what tells them apart comes first, before anything can be cut
        meta.insert(0, level if twin == "level" else started)
    with st.container(border=True, key="zm_card_active" if active else f"zm_card_{sid}"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small", wrap=False):
            st.button(
                f"**{escape_markdown(summary.title)}**" if active else escape_markdown(summary.title),
                key=f"zm_open_{sid}", icon=field_icon(summary.field, summary.target_position), type="tertiary",
                help=f"{escape_markdown(summary.title)}\n\n{level} · {started} · {meta[-1]}", on_click=c.request_switch,
                args=(sid,), width="stretch", wrap=False,
            )
            # The label is the button's accessible name in the UI language; the CSS shows only the icon.
            st.button(c.tr("sidebar.delete"), key=f"zm_del_{sid}", icon=":material/delete:", type="tertiary",
                      help=c.tr("sidebar.delete"), on_click=_ask_delete, args=(sid, summary.title))
        st.caption(f":{status.streamlit_colour}-badge[{status.label(lang)}] " + " · ".join(meta), wrap=False)


def _ask_delete(session_id: str, title: str) -> None:
    st.session_state[c.CONFIRM_DELETE] = {"id": session_id, "title": title}
    st.session_state[c.APP_RERUN] = True


def _cancel_delete() -> None:
    st.session_state.pop(c.CONFIRM_DELETE, None)


def _account_box() -> None:
    user = c.current_user()
    roles = c.tr("sidebar.role_separator").join(c.tr("role." + role) for role in user.roles)
    st.caption(c.tr("sidebar.signed_in_as", name=user.name, roles=roles))
    c.language_selector()
    st.button(c.tr("sidebar.logout"), icon=":material/logout:", key="zm_logout", on_click=request_logout,
              width="stretch")


def delete_dialog_if_requested() -> None:
    """The confirmation opened from a session-state flag (reliable under AppTest and in the browser)."""
    pending = st.session_state.get(c.CONFIRM_DELETE)
    if not pending:
        return

    @st.dialog(c.tr("sidebar.delete_title"), on_dismiss=_cancel_delete)
    def confirm() -> None:
        st.write(c.tr("sidebar.delete_body", title=escape_markdown(pending["title"])))
        with st.container(horizontal=True, horizontal_alignment="right"):
            cancel = st.button(c.tr("sidebar.cancel"), key="zm_delete_cancel")
            ok = st.button(c.tr("sidebar.delete_confirm"), key="zm_delete_confirm", type="primary",
                           icon=":material/delete:")
        if cancel:
            _cancel_delete()
            st.rerun()
        if ok:
            _delete(pending["id"])
            st.rerun()

    confirm()


def _delete(session_id: str) -> None:
    user = c.current_user()
    _cancel_delete()
    try:
        with session_scope(c.engine()) as db:
            sessions.delete_session(db=db, owner=user.username, session_id=session_id)
    except sessions.SessionNotFound:
        pass  # already gone (another tab or device): the list refreshes either way
    if c.open_session_id() == session_id:
        # The next load picks the session by the restore order (last open, then newest).
        st.session_state.pop(c.OPEN_SESSION, None)
        st.query_params.pop("session", None)
        st.session_state.pop(c.TURN_ERROR, None)
    c.flash("sidebar.deleted", ":material/delete:")
