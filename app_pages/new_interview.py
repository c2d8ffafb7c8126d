"""New interview: the form; creating opens the chat with the interviewer's welcome."""

import streamlit as st

from ui.common import tr
from ui.forms import render_new_interview_form

st.title(tr("new.title"))
st.caption(tr("new.subtitle"))
render_new_interview_form()
