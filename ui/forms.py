"""The new-interview form, shared by the new-interview page and an empty chat page."""

from __future__ import annotations

import streamlit as st

from core import sessions
from core.display import field_key
from core.i18n import LANGUAGES, t
from core.interviewer import turns
from core.interviewer.bank import FIELD_NAMES, GENERAL_KEY, GENERAL_NAME
from core.models import LEVELS
from ui import common as c
from ui import resume as resume_ui

# A selectbox shows plain text, so the field icons here are emoji (the sidebar uses Material icons).
_EMOJI = {"frontend": "💻", "backend": "🗄️", "data": "📊", "product": "📦", "ai": "🤖", "qa": "🐞", "devops": "☁️",
          GENERAL_KEY: "💼", "other": "✏️"}
# (catalogue key, the value stored as the session's field: the bank's own name, so it maps back exactly, emoji)
FIELDS = (
    *((key, name, _EMOJI[key]) for key, name in FIELD_NAMES.items()),
    (GENERAL_KEY, GENERAL_NAME, _EMOJI[GENERAL_KEY]),
    ("other", "", _EMOJI["other"]),
)
_FIELD_BY_KEY = {key: (value, emoji) for key, value, emoji in FIELDS}


def _field_label(key: str) -> str:
    return f"{_FIELD_BY_KEY[key][1]} {c.tr('field.' + key)}"


def render_new_interview_form() -> None:
    """An optional resume (understood and correctable), then name, position, field, level, language, optional JD;
    creates the session and opens its chat."""
    ctx = c.page_context()
    resume_ui.render_resume_section(ctx)
    with st.form("zm_new_form", border=True):
        st.text_input(c.tr("new.name"), value=ctx.user.name, max_chars=60, key="zm_new_name")
        st.text_input(c.tr("new.position"), max_chars=100, key="zm_new_position",
                      placeholder=c.tr("new.position_placeholder"))
        left, right = st.columns(2)
        left.selectbox(c.tr("new.field"), [key for key, _, _ in FIELDS], format_func=_field_label, index=None,
                       placeholder=c.tr("new.field_auto"), key="zm_new_field")
        right.text_input(c.tr("new.field_other"), max_chars=50, key="zm_new_field_other",
                         placeholder=c.tr("new.field_other_placeholder"))
        left, right = st.columns(2)
        left.radio(c.tr("new.level"), LEVELS, index=1, horizontal=True, key="zm_new_level",
                   format_func=lambda level, lang=ctx.lang: t("level." + level, lang))
        right.radio(c.tr("new.language"), list(LANGUAGES), horizontal=True, key="zm_new_language",
                    index=list(LANGUAGES).index(ctx.lang), format_func=LANGUAGES.get)
        st.text_area(c.tr("new.jd"), max_chars=8000, key="zm_new_jd", placeholder=c.tr("new.jd_placeholder"))
        submitted = st.form_submit_button(c.tr("new.submit"), type="primary", icon=":material/play_arrow:",
                                          width="stretch")
    if submitted:
        _start(ctx)


def _form_info(ctx: c.PageContext) -> dict:
    state = st.session_state
    position = (state.get("zm_new_position") or "").strip()
    chosen = state.get("zm_new_field") or field_key("", position)  # not chosen: the field the position implies
    field = (state.get("zm_new_field_other") or "").strip() if chosen == "other" else _FIELD_BY_KEY[chosen][0]
    return {
        "candidate_name": state.get("zm_new_name") or ctx.user.name,
        "target_position": position,
        "field": field or GENERAL_NAME,
        "level": state.get("zm_new_level") or "mid",
        "language": state.get("zm_new_language") or ctx.lang,
        "job_description": state.get("zm_new_jd") or None,
    }


def _start(ctx: c.PageContext) -> None:
    info = _form_info(ctx)
    if not info["target_position"]:
        st.error(c.tr("new.err_position"), icon=":material/error:")
        return
    try:
        info["resume_id"] = resume_ui.corrected(ctx)
        with st.spinner(c.tr("new.creating")):
            started = turns.start_interview(owner=ctx.user.username, info=info, engine=c.engine())
    except sessions.SessionLimitReached as exc:
        st.error(f"{c.tr('new.err_limit')}\n\n{exc}", icon=":material/block:")
        return
    except sessions.InvalidInput as exc:
        st.error(f"{c.tr('new.err_invalid')}\n\n{exc}", icon=":material/error:")
        return
    except turns.TurnFailed as exc:
        st.error(f"{c.tr('chat.err_llm')}\n\n{exc.message}", icon=":material/error:")
        return
    resume_ui.started()
    session_id = started.session.id
    st.session_state[c.SWITCH_TO] = session_id
    c.go_to(c.PAGE_CHAT, session_id)
