"""Interview chat: replayed history, streamed replies, stage progress, retry after a failure, ending early."""

from __future__ import annotations

import uuid

import streamlit as st

from core import sessions
from core.display import field_icon
from core.interviewer import turns
from core.interviewer.errors import InterviewerError
from core.models import MAX_MESSAGE_CHARS, MessagePublic
from core.ratelimit import RateLimited
from ui import common as c
from ui.forms import render_new_interview_form
from ui.sidebar import escape_markdown
from ui.thinking import reply_pieces
from ui.welcome import render_welcome

AVATARS = {"assistant": ":material/support_agent:", "user": ":material/person:"}

ctx = c.page_context()


def show_message(message: MessagePublic) -> None:
    with st.chat_message(message.role, avatar=AVATARS.get(message.role)):
        st.markdown(message.content)
        if message.status == "incomplete":
            st.caption(f":orange-badge[{c.tr('chat.interrupted')}] {c.tr('chat.interrupted_note')}")


def remember_error(kind: str, message: str = "", code: str = "") -> None:
    st.session_state[c.TURN_ERROR] = {"session": ctx.session_id, "kind": kind, "message": message, "code": code}


def answer(content: str, client_message_id: str, *, echo: bool) -> None:
    """Run one turn, streaming the interviewer's reply, then rerun so history and sidebar come from the DB."""
    if echo:
        with st.chat_message("user", avatar=AVATARS["user"]):
            st.markdown(content)
    st.session_state.pop(c.TURN_ERROR, None)
    finished: list[turns.TurnResult] = []

    events = turns.run_turn(owner=ctx.user.username, session_id=ctx.session_id, content=content,
                            client_message_id=client_message_id, engine=c.engine())
    try:
        with st.chat_message("assistant", avatar=AVATARS["assistant"]):
            thinking = st.empty()
            st.write_stream(reply_pieces(events, show=lambda text: thinking.caption(f":material/hourglass_top: {text}"),
                                         clear=thinking.empty, label=lambda n: c.tr("thinking.label", n=n),
                                         finished=finished))
    except InterviewerError as exc:
        remember_error("llm", exc.in_language(c.lang()).message, exc.code)
    except turns.TurnBusy:
        remember_error("busy")
    except turns.InterviewCompleted:
        remember_error("completed")
    except RateLimited as exc:
        remember_error("rate_limited", c.tr("chat.err_rate_limited", n=exc.retry_after))
    except sessions.InvalidInput as exc:
        st.error(f"{c.tr('chat.err_invalid')} {exc}", icon=":material/error:")
        return
    except sessions.SessionNotFound:
        c.flash("error.session_not_found", ":material/link_off:")
    if finished and finished[-1].is_complete:
        c.flash("chat.ended", ":material/flag:")
        st.session_state[c.SCROLL_TO_END] = ctx.session_id
    st.rerun()


def end_dialog_if_requested() -> None:
    if st.session_state.get(c.CONFIRM_END) != ctx.session_id:
        return

    def close() -> None:
        st.session_state.pop(c.CONFIRM_END, None)

    @st.dialog(c.tr("chat.end_title"), on_dismiss=close)
    def confirm() -> None:
        st.write(c.tr("chat.end_body"))
        with st.container(horizontal=True, horizontal_alignment="right"):
            cancel = st.button(c.tr("sidebar.cancel"), key="zm_end_cancel")
            ok = st.button(c.tr("chat.end_confirm"), key="zm_end_confirm", type="primary", icon=":material/flag:")
        if cancel:
            close()
            st.rerun()
        if ok:
            try:
                with st.spinner(c.tr("report.generating")):
                    turns.end_interview(owner=ctx.user.username, session_id=ctx.session_id, engine=c.engine())
            except turns.TurnFailed as exc:
                st.error(f"{c.tr('chat.err_llm')}\n\n{exc.message}", icon=":material/error:")
                return
            except turns.TurnBusy:
                st.warning(c.tr("chat.err_busy"), icon=":material/hourglass_top:")
                return
            except (turns.InterviewCompleted, sessions.SessionNotFound):
                pass
            close()
            c.flash("chat.ended", ":material/flag:")
            st.session_state[c.SCROLL_TO_END] = ctx.session_id
            st.rerun()

    confirm()


def ask_end() -> None:
    st.session_state[c.CONFIRM_END] = ctx.session_id


def render_problem(error: dict | None, has_pending: bool) -> bool:
    """The last failure (or an unanswered answer after a refresh) and a retry button; True when clicked."""
    if error and error["kind"] == "llm":
        st.error(f"**{c.tr('chat.err_llm')}** {error['message']}\n\n{c.tr('chat.err_code', code=error['code'])}",
                 icon=":material/error:")
    elif error and error["kind"] == "busy":
        st.warning(c.tr("chat.err_busy"), icon=":material/hourglass_top:")
    elif error and error["kind"] == "completed":
        st.info(c.tr("chat.err_completed"), icon=":material/flag:")
    elif error and error["kind"] == "rate_limited":
        st.warning(error["message"], icon=":material/timer:")
    elif has_pending:
        st.info(c.tr("chat.pending"), icon=":material/pending:")
    if not has_pending:
        return False
    return st.button(c.tr("chat.retry"), icon=":material/refresh:", key="zm_retry", type="primary")


def report_call_to_action(session_id: str) -> None:
    with st.container(border=True, horizontal=True, vertical_alignment="center", wrap=False, key="zm_report_cta"):
        st.markdown(f":material/flag: {c.tr('chat.report_ready')}", width="stretch")
        if st.button(c.tr("chat.report_cta"), type="primary", icon=":material/assessment:", key="zm_report_top"):
            c.go_to(c.PAGE_REPORT, session_id)


# Runs once, when the interview has just ended: the closing words, the notice and the report link are at the end.
SCROLL_TO_END_SCRIPT = """<script>
(() => {
  const started = Date.now();
  const scroll = () => {
    const end = document.querySelector('.st-key-zm_chat_end');
    if (end) end.scrollIntoView({block: 'end'});
    if (Date.now() - started < 1500) setTimeout(scroll, 100);  // until the last elements have been drawn
  };
  scroll();
})();
</script>"""


def scroll_to_end() -> None:
    with st.container(key="zm_chat_end"):
        st.html(SCROLL_TO_END_SCRIPT, unsafe_allow_javascript=True)


if not ctx.session_id:
    st.title(c.tr("new.title"))
    render_welcome()  # no session open means none at all: a first visit
    render_new_interview_form()
    st.stop()

history, pending = c.load_open_session(
    ctx, lambda: turns.pending_answer(owner=ctx.user.username, session_id=ctx.session_id, engine=c.engine())
)

session = history.session
error = st.session_state.get(c.TURN_ERROR)
if error and error.get("session") != session.id:
    error = None

st.subheader(f"{field_icon(session.field, session.target_position)} {escape_markdown(session.display_title)}")
progress_col, end_col = st.columns([4, 1], vertical_alignment="bottom")
with progress_col:
    step, steps = turns.stage_progress(session.interview_stage)
    st.progress(min(1.0, step / steps), text=c.tr("chat.progress", stage=c.tr("stage." + session.interview_stage),
                                                  i=step, n=steps))
with end_col:
    if not session.is_complete:
        st.button(c.tr("chat.end"), key="zm_end", icon=":material/flag:", on_click=ask_end, width="stretch")

if session.is_complete:  # the report is what a finished chat is reopened for: offer it before the long history
    report_call_to_action(session.id)

for message in history.messages:
    show_message(message)

problem = st.empty()
with problem.container():
    retry = render_problem(error, pending is not None and not session.is_complete)
if retry and pending is not None:
    problem.empty()
    answer(pending.content, pending.client_message_id, echo=False)

if session.is_complete:
    st.success(c.tr("chat.completed"), icon=":material/flag:")
    st.page_link(c.PAGE_REPORT, label=c.tr("chat.view_report"), icon=":material/assessment:",
                 query_params=c.link_params(session.id))
else:
    prompt = st.chat_input(c.tr("chat.placeholder"), key="zm_chat_input", max_chars=MAX_MESSAGE_CHARS,
                           disabled=pending is not None)
    if prompt:
        answer(prompt, str(uuid.uuid4()), echo=True)

end_dialog_if_requested()
if st.session_state.get(c.SCROLL_TO_END) == session.id:
    st.session_state.pop(c.SCROLL_TO_END)
    scroll_to_end()
