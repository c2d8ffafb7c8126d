"""The first-visit welcome above the new-interview form: what an interview is like, how long, that it is saved."""

from __future__ import annotations

import streamlit as st

from core.interviewer.workflow import PLAN_SHAPE
from ui import common as c


def render_welcome() -> None:
    """Shown while the user has no interview at all (the restore order opens one whenever one exists)."""
    with st.container(border=True, key="zm_welcome"):
        st.subheader(c.tr("welcome.title"), anchor=False)
        st.markdown(c.tr("welcome.intro"))
        st.markdown("\n".join(f"- {c.tr(key, n=sum(PLAN_SHAPE.values()))}"
                              for key in ("welcome.like", "welcome.time", "welcome.saved")))
        st.caption(c.tr("welcome.start"))
