"""Shared page helpers: engine, language, the signed-in user, the open session, links between pages."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st
from sqlalchemy.engine import Engine

from core import db as core_db
from core import sessions
from core.auth import AuthUser
from core.config import Settings, get_settings
from core.i18n import LANGUAGES, t
from core.interviewer.bank import load_banks
from core.sessions import SessionHistory

T = TypeVar("T")

# Session-state keys, all zm_*: signing out clears every one of them but the language.
LANG = "zm_lang"
USER = "zm_user"
OPEN_SESSION = "zm_session_id"
SWITCH_TO = "zm_switch_to"
CONFIRM_DELETE = "zm_confirm_delete"
CONFIRM_END = "zm_confirm_end"
APP_RERUN = "zm_need_app_rerun"
TURN_ERROR = "zm_turn_error"
FLASH = "zm_flash"
REJECTED_LINK = "zm_rejected_link"
SCROLL_TO_END = "zm_scroll_to_end"  # the id of a chat that has just ended: its next run shows its end

PAGE_CHAT = "app_pages/chat.py"
PAGE_NEW = "app_pages/new_interview.py"
PAGE_REPORT = "app_pages/report.py"
PAGE_ANALYTICS = "app_pages/analytics.py"
PAGE_DRILL = "app_pages/drill.py"
PAGE_PROGRESS = "app_pages/progress.py"
ANALYTICS_ROLES = ("staff", "analyst")


# The login cookie's script slot takes no space.
APP_CSS = """
<style>
.st-key-zhimian_cookie { display: none; }
.st-key-zm_card_active { background: rgba(79, 70, 229, 0.08); border-color: #4f46e5 !important; }
[class*="st-key-zm_open_"] button, [class*="st-key-zm_open_"] button > div { justify-content: flex-start; }
[class*="st-key-zm_open_"] button p { text-align: left; }
[class*="st-key-zm_card_"] { gap: 0.15rem; }
[class*="st-key-zm_open_"] { min-width: 0; flex: 1 1 0; }
[class*="st-key-zm_del_"] button [data-testid="stMarkdownContainer"] {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}
</style>
"""


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return core_db.get_engine(url)


def engine() -> Engine:
    """The shared, migrated engine for the configured database (one per URL per process)."""
    return _engine_for(get_settings().DATABASE_URL)


@st.cache_resource(show_spinner=False)
def load_question_banks_in_background() -> threading.Thread:
    """Read the question banks once per process while the user signs in, not when their first interview starts."""
    thread = threading.Thread(target=load_banks, name="zhimian-warm-up", daemon=True)
    thread.start()
    return thread


def settings() -> Settings:
    return get_settings()


def lang() -> str:
    """The UI language of this browser session."""
    value = st.session_state.get(LANG)
    return value if value in LANGUAGES else get_settings().DEFAULT_LANGUAGE


def tr(key: str, **values) -> str:
    """`t` in the current UI language."""
    return t(key, lang(), **values)


def init_language() -> str:
    """Session language: chosen in this session, else `?lang=`, else the configured default."""
    if st.session_state.get(LANG) not in LANGUAGES:
        requested = st.query_params.get("lang")
        st.session_state[LANG] = requested if requested in LANGUAGES else get_settings().DEFAULT_LANGUAGE
    return st.session_state[LANG]


def _language_changed() -> None:
    st.session_state[LANG] = st.session_state["zm_lang_widget"]


def language_selector() -> None:
    """The zh-CN / English switch (renders in the current container)."""
    options = list(LANGUAGES)
    st.selectbox(
        tr("app.language"), options, index=options.index(lang()), format_func=LANGUAGES.get,
        key="zm_lang_widget", on_change=_language_changed, label_visibility="collapsed",
    )


def current_user() -> AuthUser:
    return st.session_state[USER]


def open_session_id() -> str | None:
    return st.session_state.get(OPEN_SESSION)


def link_params(session_id: str | None = None) -> dict[str, str]:
    """Query parameters every in-app link carries: the open session and the language."""
    params = {"lang": lang()}
    session_id = session_id or open_session_id()
    if session_id:
        params["session"] = session_id
    return params


def request_switch(session_id: str) -> None:
    """Callback: open another session on the next full run (the app handles it before rendering)."""
    st.session_state[SWITCH_TO] = session_id
    st.session_state[APP_RERUN] = True


def flash(key: str, icon: str | None = None) -> None:
    """A toast for the next run (a toast shown right before st.rerun would be lost)."""
    st.session_state[FLASH] = (key, icon)


def show_flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.toast(tr(message[0]), icon=message[1])


def go_to(page: str, session_id: str | None = None) -> None:
    st.switch_page(page, query_params=link_params(session_id))


# Everything a page needs to know about the request, read once.
@dataclass(frozen=True)
class PageContext:
    user: AuthUser
    lang: str
    session_id: str | None


def page_context() -> PageContext:
    """The signed-in user (app.py runs a page only after its login gate), language and open session."""
    return PageContext(user=current_user(), lang=lang(), session_id=open_session_id())


def load_open_session(ctx: PageContext, also: Callable[[], T]) -> tuple[SessionHistory, T]:
    """The open session's history and `also()` under the loading spinner; a clear error and stop if it is gone."""
    try:
        with st.spinner(tr("chat.loading_history")):
            with core_db.session_scope(engine()) as db:
                history = sessions.get_history(db=db, owner=ctx.user.username, session_id=ctx.session_id)
            return history, also()
    except sessions.SessionNotFound:
        st.error(tr("error.session_not_found"), icon=":material/link_off:")
        st.stop()
