"""The resume on the new-interview screen (upload, what was understood, corrections) and the report's
简历声明核验 section. Reading, understanding and storing happen in core (core.resume_store)."""

from __future__ import annotations

import hashlib

import streamlit as st

from core import resume_store
from core.db import session_scope
from core.i18n import relative_time
from core.resume import ResumeParsed, ResumeProject
from core.resume_files import MAX_BYTES
from core.transcript import resume_claims
from ui import common as c
from ui.sidebar import escape_markdown

RESUME_ID = "zm_resume_id"  # the uploaded resume this form will start from
RESUME_DIGEST = "zm_resume_digest"  # which upload that was (a rerun must not store the same file again)
RESUME_ERROR = "zm_resume_error"
UPLOADER_GENERATION = "zm_resume_uploader"  # a new uploader key empties it (a file uploader cannot be set)


def render_resume_section(ctx: c.PageContext) -> None:
    """Upload, the privacy note, then what was understood, editable."""
    st.markdown(f"#### {c.tr('resume.title')}")
    st.caption(c.tr("resume.privacy_model", model=c.settings().INTERVIEWER_MODEL)
               if c.settings().INTERVIEWER_MODEL else c.tr("resume.privacy_offline"))
    generation = st.session_state.get(UPLOADER_GENERATION, 0)
    upload = st.file_uploader(c.tr("resume.upload"), key=f"zm_resume_file_{generation}",
                              max_upload_size=MAX_BYTES // (1024 * 1024), help=c.tr("resume.upload_help"))
    if upload is not None:
        _read_upload(ctx, upload)
    elif st.session_state.get(RESUME_DIGEST):  # the candidate removed the file from the uploader
        _forget()
    elif not st.session_state.get(RESUME_ID):
        _previous(ctx, generation)
    error = st.session_state.get(RESUME_ERROR)
    if error:
        st.error(error, icon=":material/error:")
    resume_id = st.session_state.get(RESUME_ID)
    if resume_id:
        _editor(ctx, resume_id)


def _previous(ctx: c.PageContext, generation: int) -> None:
    """Practising again: start from a resume uploaded before (its copy, so corrections stay with this interview)."""
    with session_scope(c.engine()) as db:
        previous = resume_store.previous_resumes(db=db, owner=ctx.user.username)
    if not previous:
        return
    labels = {r.id: f"{r.filename or r.kind.upper()} · {relative_time(r.created_at, ctx.lang)}" for r in previous}
    chosen = st.selectbox(c.tr("resume.previous"), list(labels), index=None, format_func=labels.get,
                          placeholder=c.tr("resume.previous_placeholder"), key=f"zm_resume_previous_{generation}")
    if chosen:
        with session_scope(c.engine()) as db:
            st.session_state[RESUME_ID] = resume_store.reuse_resume(db=db, owner=ctx.user.username,
                                                                    resume_id=chosen).id


def _forget() -> None:
    for key in (RESUME_ID, RESUME_DIGEST, RESUME_ERROR):
        st.session_state.pop(key, None)


def _read_upload(ctx: c.PageContext, upload) -> None:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if st.session_state.get(RESUME_DIGEST) == digest:
        return
    _forget()
    st.session_state[RESUME_DIGEST] = digest
    try:
        with st.spinner(c.tr("resume.reading")), session_scope(c.engine()) as db:
            resume = resume_store.create_resume(db=db, owner=ctx.user.username, filename=upload.name, data=data)
    except resume_store.ResumeRejected as exc:
        st.session_state[RESUME_ERROR] = f"{c.tr('resume.rejected')} {exc.error.text(ctx.lang)}"
        return
    st.session_state[RESUME_ID] = resume.id


def _editor(ctx: c.PageContext, resume_id: str) -> None:
    try:
        with session_scope(c.engine()) as db:
            resume = resume_store.get_resume(db=db, owner=ctx.user.username, resume_id=resume_id)
    except resume_store.ResumeNotFound:
        _forget()
        return
    parsed = ResumeParsed.model_validate(resume.parsed)
    with st.container(border=True, key="zm_resume_parsed"):
        st.markdown(f"**{c.tr('resume.understood')}** · {escape_markdown(resume.filename)}")
        st.caption(c.tr("resume.correct_hint"))
        if not parsed.projects:
            st.info(c.tr("resume.no_projects"), icon=":material/info:")
        for i, project in enumerate(parsed.projects):
            _project_fields(resume_id, i, project)
        st.text_area(c.tr("resume.skills"), value=", ".join(parsed.skills), key=_key(resume_id, "skills"),
                     height=68)
        left, right = st.columns(2)
        if left.button(c.tr("resume.not_this_time"), key="zm_resume_clear", icon=":material/close:",
                       width="stretch"):
            _forget()
            _empty_uploader()
            st.rerun()
        if right.button(c.tr("resume.delete"), key="zm_resume_delete", icon=":material/delete:", width="stretch"):
            with session_scope(c.engine()) as db:
                resume_store.delete_resume(db=db, owner=ctx.user.username, resume_id=resume_id)
            _forget()
            _empty_uploader()
            st.rerun()


def _key(resume_id: str, *parts: object) -> str:
    return "zm_resume_" + "_".join([resume_id[:8], *map(str, parts)])


def _project_fields(resume_id: str, i: int, project: ResumeProject) -> None:
    st.markdown(f"**{c.tr('resume.project', n=i + 1)}**")
    left, right = st.columns([3, 2])
    left.text_input(c.tr("resume.name"), value=project.name, key=_key(resume_id, i, "name"), max_chars=80)
    right.text_input(c.tr("resume.role"), value=project.role, key=_key(resume_id, i, "role"), max_chars=80)
    st.text_input(c.tr("resume.stack"), value=", ".join(project.stack), key=_key(resume_id, i, "stack"))
    st.text_area(c.tr("resume.claims"), value="\n".join(project.claims), key=_key(resume_id, i, "claims"),
                 height=90)


def _split(text: str, separators: str) -> list[str]:
    import re

    return [part.strip() for part in re.split(f"[{separators}]", text or "") if part.strip()]


def corrected(ctx: c.PageContext) -> str | None:
    """Store the candidate's corrections and return the resume id to start from (None without a resume).
    InvalidInput (shown by the caller) when a correction is out of bounds."""
    resume_id = st.session_state.get(RESUME_ID)
    if not resume_id:
        return None
    state = st.session_state
    with session_scope(c.engine()) as db:
        try:
            resume = resume_store.get_resume(db=db, owner=ctx.user.username, resume_id=resume_id)
        except resume_store.ResumeNotFound:  # deleted meanwhile (another tab): start without it
            _forget()
            return None
        parsed = ResumeParsed.model_validate(resume.parsed)
        projects = []
        for i, project in enumerate(parsed.projects):
            name = (state.get(_key(resume_id, i, "name"), project.name) or "").strip()
            if not name:  # an emptied name removes the project
                continue
            claims_text = state.get(_key(resume_id, i, "claims"), "\n".join(project.claims))
            stack_text = state.get(_key(resume_id, i, "stack"), ", ".join(project.stack))
            projects.append({"name": name, "role": state.get(_key(resume_id, i, "role"), project.role),
                             "stack": _split(stack_text, ",，、;；"), "claims": _split(claims_text, "\n"),
                             "numbers": []})
        skills = _split(state.get(_key(resume_id, "skills"), ", ".join(parsed.skills)), ",，、;；\n")
        update = {"language": parsed.language, "sections": parsed.sections, "projects": projects, "skills": skills}
        if _with_numbers(update) != parsed.model_dump(mode="json"):
            resume_store.update_parsed(db=db, owner=ctx.user.username, resume_id=resume_id,
                                       parsed=_with_numbers(update))
    return resume_id


def _with_numbers(update: dict) -> dict:
    """The numbers of each project, from its (possibly corrected) claims."""
    from core.resume import numbers_in

    projects = [{**p, "numbers": list(dict.fromkeys(n for claim in p["claims"] for n in numbers_in(claim)))}
                for p in update["projects"]]
    return ResumeParsed.model_validate({**update, "projects": projects}).model_dump(mode="json")


def started() -> None:
    """The interview started from the resume: the next new interview starts with an empty uploader."""
    _forget()
    _empty_uploader()


def _empty_uploader() -> None:
    st.session_state[UPLOADER_GENERATION] = st.session_state.get(UPLOADER_GENERATION, 0) + 1


# -- the report ----------------------------------------------------------------------------------------------------


def render_resume_claims(report) -> None:
    """简历声明核验: each claim with a number, substantiated by the interview or not, with the candidate's words."""
    claims = resume_claims(report)
    if not claims:
        return
    st.markdown(f"#### {c.tr('report.resume_claims')}")
    st.caption(c.tr("report.resume_claims_hint"))
    for claim in claims:
        ok = claim.get("status") == "substantiated"
        icon = ":green[:material/verified:]" if ok else ":orange[:material/help:]"
        label = c.tr("report.claim_ok") if ok else c.tr("report.claim_not_ok")
        project = escape_markdown(str(claim.get("project", "")))
        lines = [f"{icon} **{label}** · {project}  \n{escape_markdown(str(claim.get('claim', '')))}"]
        for quote in (claim.get("evidence") or [])[:2]:
            lines.append(f"> “{escape_markdown(str(quote))}”")
        if not ok and claim.get("reason"):
            lines.append(f"*{escape_markdown(str(claim['reason']))}*")
        st.markdown("\n\n".join(lines))

