"""Entry point: page setup, language, login gate, navigation, sidebar session list and session restore."""

from __future__ import annotations

import streamlit as st

from core import sessions
from core.config import get_settings
from core.db import session_scope
from core.i18n import t
from ui import common as c
from ui.login import login_cookie_script, render_login_page, signed_in_user
from ui.sidebar import delete_dialog_if_requested, render_sidebar

settings = get_settings()
lang = c.init_language()
st.set_page_config(page_title=t("app.title", lang), page_icon="✨", layout="centered",
                   initial_sidebar_state="expanded")
st.html(c.APP_CSS)

user = signed_in_user(settings)
# The cookie script's hidden slot always exists, so the script's coming and going never moves (remounts) the page.
with st.container(key="zhimian_cookie"):
    login_cookie_script()

if user is None:
    def login_page() -> None:
        render_login_page(settings)

    st.navigation([st.Page(login_page, title=c.tr("login.page_title"), icon=":material/login:", url_path="login",
                           default=True)], position="hidden").run()
    c.load_question_banks_in_background()  # after the page is drawn: the user now types for a while
    st.stop()

# Staff and analysts land on the analytics page (it is their default); candidates on the chat.
staff_view = user.has_any_role(*c.ANALYTICS_ROLES)
pages = {
    "chat": st.Page(c.PAGE_CHAT, title=c.tr("nav.chat"), icon=":material/forum:", default=not staff_view),
    "new": st.Page(c.PAGE_NEW, title=c.tr("nav.new"), icon=":material/add_circle:"),
    "report": st.Page(c.PAGE_REPORT, title=c.tr("nav.report"), icon=":material/assessment:"),
    "drill": st.Page(c.PAGE_DRILL, title=c.tr("nav.drill"), icon=":material/fitness_center:"),
    # Everyone who practises (staff demoing too) sees their own progress and nobody else's.
    "progress": st.Page(c.PAGE_PROGRESS, title=c.tr("nav.progress"), icon=":material/trending_up:"),
}
if staff_view:
    pages["analytics"] = st.Page(c.PAGE_ANALYTICS, title=c.tr("nav.analytics"), icon=":material/insights:",
                                 default=True)
current_page = st.navigation(list(pages.values()))
on_analytics = staff_view and current_page.url_path == pages["analytics"].url_path

# Restore order (the seed's initializeApp): clicked card or ?session= if it is the user's, last open, newest.
switch_to = st.session_state.pop(c.SWITCH_TO, None)
st.session_state.pop(c.APP_RERUN, None)
with session_scope(c.engine()) as db:
    choice = sessions.choose_session_to_open(
        db=db, owner=user.username, requested_id=switch_to or st.query_params.get("session")
    )
    if choice.session_id and choice.session_id != c.open_session_id():
        sessions.open_session(db=db, owner=user.username, session_id=choice.session_id)
    summaries = sessions.list_session_summaries(db=db, owner=user.username)

# The notice outlives the next runs (the URL names the session opened instead): it stays until another is opened.
if choice.url_rejected:
    st.session_state[c.REJECTED_LINK] = choice.session_id
elif st.session_state.get(c.REJECTED_LINK, choice.session_id) != choice.session_id or switch_to:
    st.session_state.pop(c.REJECTED_LINK, None)
st.session_state[c.OPEN_SESSION] = choice.session_id
# A ?session= link opens that chat, even at the root URL that is the analytics page for staff; the analytics page
# itself keeps no session in its URL, so reloading it stays there.
if on_analytics and choice.source == "url" and not switch_to:
    c.go_to(c.PAGE_CHAT, choice.session_id)
if choice.session_id and not on_analytics:
    if st.query_params.get("session") != choice.session_id:
        st.query_params["session"] = choice.session_id
else:
    st.query_params.pop("session", None)
if st.query_params.get("lang") != lang:
    st.query_params["lang"] = lang
if switch_to and choice.session_id == switch_to and current_page.url_path != pages["chat"].url_path:
    c.go_to(c.PAGE_CHAT, switch_to)

render_sidebar(summaries=summaries, open_id=choice.session_id)
delete_dialog_if_requested()
c.show_flash()
if c.REJECTED_LINK in st.session_state:  # pinned above the chat input, where the eye is, however long the chat
    st.bottom.warning(c.tr("app.session_rejected"), icon=":material/link_off:")
c.load_question_banks_in_background()  # signed in by the cookie after a restart: the login page never ran
current_page.run()
