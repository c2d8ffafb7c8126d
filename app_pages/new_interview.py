"""New interview: the form; creating opens the chat with the interviewer's welcome."""

import streamlit as st

from ui.common import open_session_id, tr
from ui.forms import render_new_interview_form
from ui.welcome import render_welcome

st.title(tr("new.title"))
if open_session_id() is None:  # the restore order opens a session whenever the user has one: a first visit
    render_welcome()
else:
    st.caption(tr("new.subtitle"))
render_new_interview_form()
