"""AppTest helpers for app.py: log in through the real form, find sidebar cards, read what a page shows."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.db import get_engine, session_scope

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def new_app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def submit_login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="zm_login_username").input(username)
    at.text_input(key="zm_login_password").input(password)
    login_button = next(b for b in at.button if b.key.startswith("FormSubmitter:zm_login"))
    return ok(login_button.click().run())


def login(username: str = "candidate", password: str = "candidate123", **query: str) -> AppTest:
    at = ok(new_app(**query).run())
    submit_login(at, username, password)
    assert at.session_state["zm_user"] is not None, [e.value for e in at.error]
    return at


def texts(at: AppTest) -> str:
    """Every markdown, caption, alert and chat text on the page, joined (for 'is X shown anywhere')."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for kind in ("info", "warning", "error", "success", "title", "subheader", "header"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [b.label for b in at.button]
    return "\n".join(parts)


def sidebar_cards(at: AppTest) -> dict[str, str]:
    """session id -> title shown on its card (from the card's open button)."""
    return {b.key.removeprefix("zm_open_"): b.label for b in at.sidebar.button if b.key.startswith("zm_open_")}


def chat_texts(at: AppTest) -> list[tuple[str, str]]:
    """(role, text) of every chat message in order."""
    return [(m.name, "\n".join(md.value for md in m.markdown)) for m in at.chat_message]


def nav_paths(at: AppTest) -> set[str]:
    """URL paths of the pages st.navigation registered in the last run (the default page's is empty)."""
    return {info.get("url_pathname", "") for info in at._registered_pages.values()}


def nav_pages(at: AppTest) -> set[str]:
    """Script names (app_pages/<name>.py) of the pages st.navigation registered in the last run (the default page's
    URL path is empty, so paths cannot name it)."""
    return {Path(info["script_path"]).stem for info in at._registered_pages.values()}


def page_links(at: AppTest) -> list[tuple[str, str, str]]:
    """(label, page url path, query string) of every st.page_link on the page."""
    return [(link.proto.label, link.proto.page, link.proto.query_string) for link in at.get("page_link")]


def db_scope():
    return session_scope(get_engine())
