"""Question drill: pick a field, question type and level, answer one question, see at once what you covered."""

from __future__ import annotations

import random

import streamlit as st

from core import drills
from core.i18n import relative_time, t
from core.interviewer.bank import FIELD_NAMES, GENERAL_KEY
from core.models import LEVELS
from core.ratelimit import RateLimited
from core.sessions import InvalidInput
from ui import common as c
from ui.sidebar import escape_markdown

FIELD = "zm_drill_field"
STAGE = "zm_drill_stage"
LEVEL = "zm_drill_level"
QUESTION = "zm_drill_qid"
ANSWER = "zm_drill_answer"
RESULT = "zm_drill_result"
LINKED = "zm_drill_linked"  # the ?question= already applied (so changing the filters afterwards sticks)
DRILL_LANG = "zm_drill_lang"  # a linked question's language, until the filters change (else the UI language)
ANSWERED = "zm_drill_answer_for"  # the question the answer box belongs to
CONFIRM_CLEAR = "zm_drill_confirm_clear"
FIELDS = (*FIELD_NAMES, GENERAL_KEY)
ANY_LEVEL = "any"


def _apply_link() -> None:
    """?question=<id> (from the progress page or a shared link) selects that question and its filters, once."""
    requested = st.query_params.get("question")
    if not requested or st.session_state.get(LINKED) == requested:
        return
    st.session_state[LINKED] = requested
    try:
        question = drills.get_question(requested)
    except drills.QuestionNotFound:
        st.toast(c.tr("drill.err_unknown_question"), icon=":material/help:")
        return
    _select(question.id, question.field, question.stage, question.level, question.language)


def _select(question_id: str, field: str, stage: str, level: str, language: str) -> None:
    """Open this question with its filters (and its language, until the filters change)."""
    st.session_state.update({FIELD: field if field in FIELDS else GENERAL_KEY, STAGE: stage, LEVEL: level,
                             QUESTION: question_id, DRILL_LANG: language})


def _questions(language: str) -> list[drills.DrillQuestion]:
    level = st.session_state.get(LEVEL, ANY_LEVEL)
    return drills.list_questions(field=st.session_state[FIELD], language=language, stage=st.session_state[STAGE],
                                 level=None if level == ANY_LEVEL else level)


def _another(ids: list[str]) -> None:
    """Callback: a different question from the current list."""
    others = [qid for qid in ids if qid != st.session_state.get(QUESTION)]
    if others:
        st.session_state[QUESTION] = random.choice(others)


def _practise(attempt: drills.DrillAttemptPublic) -> None:
    """Callback: back to a question from the history, with its filters."""
    _select(attempt.question_id, attempt.field, attempt.stage, attempt.level, attempt.language)
    st.session_state.pop(RESULT, None)


def _filters(lang: str) -> None:
    # Labels bound to this run's language (a format_func may be called again outside the run).
    st.session_state.setdefault(FIELD, GENERAL_KEY)
    st.session_state.setdefault(STAGE, "technical")
    st.session_state.setdefault(LEVEL, ANY_LEVEL)
    left, middle, right = st.columns([2, 2, 1.4])
    reset_language = {"on_change": st.session_state.pop, "args": (DRILL_LANG, None)}
    left.selectbox(c.tr("drill.field"), FIELDS, format_func=lambda key: t("field." + key, lang), key=FIELD,
                   **reset_language)
    middle.selectbox(c.tr("drill.stage"), drills.DRILL_STAGES, format_func=lambda key: t("stage." + key, lang),
                     key=STAGE, **reset_language)
    right.selectbox(c.tr("drill.level"), (ANY_LEVEL, *LEVELS), key=LEVEL, **reset_language,
                    format_func=lambda key: t("drill.any_level" if key == ANY_LEVEL else "level." + key, lang))


def _pick_question(questions: list[drills.DrillQuestion]) -> drills.DrillQuestion:
    by_id = {q.id: q for q in questions}
    if st.session_state.get(QUESTION) not in by_id:
        st.session_state[QUESTION] = random.choice(questions).id
        st.session_state.pop(RESULT, None)
    ids = list(by_id)
    pick, another = st.columns([5, 1.3], vertical_alignment="bottom")
    pick.selectbox(c.tr("drill.question"), ids, key=QUESTION, format_func=lambda qid: by_id[qid].question)
    another.button(c.tr("drill.another"), icon=":material/shuffle:", on_click=_another, args=(ids,),
                   disabled=len(ids) < 2, width="stretch", key="zm_drill_another")
    question = by_id[st.session_state[QUESTION]]
    if st.session_state.get(ANSWERED) != question.id:  # a new question starts with an empty answer box
        st.session_state[ANSWERED] = question.id
        st.session_state[ANSWER] = ""
    if st.query_params.get("question") != question.id:
        st.query_params["question"] = question.id
        st.session_state[LINKED] = question.id
    return question


def _submit(question: drills.DrillQuestion, owner: str) -> None:
    try:
        with st.spinner(c.tr("drill.judging")):
            result = drills.evaluate(owner=owner, question_id=question.id,
                                     answer=st.session_state.get(ANSWER, ""), engine=c.engine())
    except RateLimited as exc:
        st.warning(c.tr("drill.err_rate_limited", n=exc.retry_after), icon=":material/hourglass_top:")
        return
    except InvalidInput as exc:
        st.error(f"{c.tr('drill.err_invalid')} {exc}", icon=":material/error:")
        return
    st.session_state[RESULT] = {"question_id": question.id, "result": result}


def _show_result(result: drills.DrillResult) -> None:
    st.metric(c.tr("drill.score"), f"{result.score:.1f} / 5")
    if result.covered:
        st.markdown(f"**{c.tr('drill.covered')}**")
        st.markdown("\n".join(f"- :green[:material/check:] {escape_markdown(p['point'])}  \n"
                              f"  “{escape_markdown(p['evidence'])}”" for p in result.covered))
    else:
        st.info(c.tr("drill.none_covered"), icon=":material/info:")
    if result.unclear:
        st.markdown(f"**{c.tr('drill.unclear')}**")
        st.markdown("\n".join(f"- :orange[:material/help:] {escape_markdown(p)}" for p in result.unclear))
    if result.missed:
        st.markdown(f"**{c.tr('drill.missed')}**")
        st.markdown("\n".join(f"- :gray[:material/add:] {escape_markdown(p)}" for p in result.missed))
    if result.feedback:
        st.markdown(f"**{c.tr('drill.feedback')}**  \n{escape_markdown(result.feedback)}")
    if result.follow_up:
        st.markdown(f"**{c.tr('drill.follow_up')}**")
        with st.chat_message("assistant", avatar=":material/support_agent:"):
            st.markdown(escape_markdown(result.follow_up))
    if result.better_answer:
        with st.expander(c.tr("drill.better_answer"), icon=":material/lightbulb:"):
            st.markdown(escape_markdown(result.better_answer))


def _clear_history(owner: str) -> None:
    drills.delete_history(owner=owner, engine=c.engine())
    st.session_state.pop(CONFIRM_CLEAR, None)
    st.session_state.pop(RESULT, None)
    c.flash("drill.cleared", ":material/delete:")


def _delete_attempt(owner: str, attempt_id: int) -> None:
    try:
        drills.delete_attempt(owner=owner, attempt_id=attempt_id, engine=c.engine())
    except drills.DrillNotFound:
        pass  # already gone (another tab): the list below no longer shows it either
    c.flash("drill.deleted", ":material/delete:")


def _history(owner: str, lang: str) -> None:
    attempts = [drills.public_attempt(a) for a in drills.history(owner=owner, engine=c.engine())]
    st.divider()
    st.subheader(c.tr("drill.history", n=len(attempts)))
    if not attempts:
        st.caption(c.tr("drill.history_empty"))
        return
    for attempt in attempts:
        label = f"{attempt.score:.1f}/5 · {attempt.question[:60]} · {relative_time(attempt.created_at, lang)}"
        with st.expander(label):
            st.markdown(f"**{c.tr('drill.question')}**  \n{escape_markdown(attempt.question)}")
            st.markdown(f"**{c.tr('drill.answer')}**")
            st.text(attempt.answer)
            if attempt.covered:
                st.markdown(f"**{c.tr('drill.covered')}**  \n" + "\n".join(
                    f"- {escape_markdown(p.point)}: “{escape_markdown(p.evidence)}”" for p in attempt.covered))
            if attempt.missed:
                st.markdown(f"**{c.tr('drill.missed')}**  \n"
                            + "\n".join(f"- {escape_markdown(p)}" for p in attempt.missed))
            again, delete = st.columns(2)
            again.button(c.tr("drill.practise_again"), key=f"zm_drill_again_{attempt.id}",
                         icon=":material/replay:", on_click=_practise, args=(attempt,))
            delete.button(c.tr("drill.delete"), key=f"zm_drill_delete_{attempt.id}", icon=":material/delete:",
                          on_click=_delete_attempt, args=(owner, attempt.id))
    if st.session_state.get(CONFIRM_CLEAR):
        st.warning(c.tr("drill.clear_confirm", n=len(attempts)), icon=":material/warning:")
        yes, no = st.columns(2)
        yes.button(c.tr("drill.clear_yes"), key="zm_drill_clear_yes", type="primary", icon=":material/delete:",
                   on_click=_clear_history, args=(owner,))
        no.button(c.tr("drill.cancel"), key="zm_drill_clear_no", on_click=st.session_state.pop,
                  args=(CONFIRM_CLEAR, None))
    else:
        st.button(c.tr("drill.clear"), key="zm_drill_clear", icon=":material/delete_sweep:",
                  on_click=st.session_state.__setitem__, args=(CONFIRM_CLEAR, True))


ctx = c.page_context()
st.title(c.tr("drill.title"))
st.caption(c.tr("drill.subtitle"))
_apply_link()
_filters(ctx.lang)
questions = _questions(st.session_state.get(DRILL_LANG) or ctx.lang)
if not questions:
    st.info(c.tr("drill.no_questions"), icon=":material/info:")
    _history(ctx.user.username, ctx.lang)
    st.stop()
question = _pick_question(questions)

with st.form("zm_drill_form", border=False):
    st.text_area(c.tr("drill.answer"), key=ANSWER, height=180, max_chars=4000,
                 placeholder=c.tr("drill.answer_placeholder"))
    submitted = st.form_submit_button(c.tr("drill.submit"), type="primary", icon=":material/send:")
if submitted:
    _submit(question, ctx.user.username)
shown = st.session_state.get(RESULT)
if shown and shown["question_id"] == question.id:
    _show_result(shown["result"])
_history(ctx.user.username, ctx.lang)
