"""Login gate over core.auth: the re-login cookie (the API's JWT), the login and registration forms, logout."""

from __future__ import annotations

import json

import streamlit as st

from core import auth
from core.config import Settings
from core.ratelimit import LimitStoreUnavailable
from ui.common import LANG, USER, language_selector, tr

LOGIN_ERROR = "zm_login_error"
LOGOUT_REQUESTED = "zm_logout_requested"
REGISTERED = "zm_registered"
REGISTER_ERROR = "zm_register_error"
LOGIN_COOKIE = "zm_login_cookie"  # (token, seconds) for the cookie script after a form login
# Not zm_*: survives the logout's clean-up. This browser session then ignores the cookie it connected with
# (st.context.cookies keeps it until a reload) and the cookie script deletes it.
LOGGED_OUT = "zhimian_logged_out"
REGISTER_FIELDS = ("first_name", "last_name", "email", "username", "password", "repeat_password")


def signed_in_user(settings: Settings) -> auth.AuthUser | None:
    """The user of this browser session (signed in here or by the cookie), re-read from the accounts file."""
    state = st.session_state
    if state.pop(LOGOUT_REQUESTED, False):
        _sign_out()
    user = state.get(USER)
    if user is None and not state.get(LOGGED_OUT):
        user = _user_from_cookie(settings)
    elif user is not None:
        user = auth.user_from_config(user.username, auth.ensure_auth_config(settings))
        if user is None:  # the account was removed from the file
            _sign_out()
    state[USER] = user
    return user


def _user_from_cookie(settings: Settings) -> auth.AuthUser | None:
    token = st.context.cookies.get(auth.COOKIE_NAME)
    if not token:
        return None
    try:
        return auth.decode_access_token(token, settings)
    except auth.AuthError:  # expired, signed with another key, or the account is gone
        return None


def request_logout() -> None:
    st.session_state[LOGOUT_REQUESTED] = True


def _sign_out() -> None:
    """Forget the user: every zm_* key but the language goes, and the cookie script deletes the cookie."""
    for key in [k for k in st.session_state if str(k).startswith("zm_") and k not in (LANG, "zm_lang_widget")]:
        del st.session_state[key]
    st.session_state[LOGGED_OUT] = True
    st.query_params.pop("session", None)


def _client_address() -> str:
    """The browser's address as Streamlit saw it (empty under AppTest): login and registration caps count per peer."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser connection (scripts)
        return ""
    return address if isinstance(address, str) else ""  # AppTest answers with a stand-in object


def _submit_login() -> None:
    """Form callback: check the password through core.auth (with its failure cap) before the run starts."""
    state = st.session_state
    username = str(state.get("zm_login_username") or "").strip().lower()
    password = str(state.get("zm_login_password") or "")
    if not username or not password:
        state[LOGIN_ERROR] = "login.err_empty"
        return
    client = _client_address()
    try:
        user = auth.authenticate(username, password, client=client)
    except auth.TooManyAttempts as exc:
        state[LOGIN_ERROR] = "login.err_too_fast" if exc.reason == "attempts" else "login.err_locked"
        return
    except auth.AuthError:
        state[LOGIN_ERROR] = "login.err_wrong" if auth.login_allowed(username, client) else "login.err_locked"
        return
    except (auth.AuthBusy, LimitStoreUnavailable):
        state[LOGIN_ERROR] = "login.err_busy"
        return
    for key in (LOGIN_ERROR, "zm_login_password", LOGGED_OUT):
        state.pop(key, None)
    state[USER] = user
    state[LOGIN_COOKIE] = auth.create_access_token(user, lifetime=auth.LOGIN_COOKIE_LIFETIME)


def login_cookie_script() -> None:
    """Write the re-login cookie after a form login, or delete it after logout, from a script in the page.

    Rendered on every run of the browser session with the same body, it runs when first shown (and again,
    harmlessly, if Streamlit remounts it): no component iframe to load and no rerun to wait for.
    """
    state = st.session_state
    if state.get(LOGGED_OUT):
        value, max_age = "", 0
    elif state.get(USER) and state.get(LOGIN_COOKIE):
        value, max_age = state[LOGIN_COOKIE]
    else:
        return
    cookie = json.dumps(f"{auth.COOKIE_NAME}={value}; Max-Age={max_age}; Path=/; SameSite=Strict")
    st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True)


def render_login_page(settings: Settings) -> None:
    """Title, language switch, demo notice, and the login / registration tabs."""
    head, switch = st.columns([4, 1], vertical_alignment="bottom")
    head.title(tr("app.title"))
    with switch:
        language_selector()
    st.caption(tr("app.tagline"))
    if settings.DEMO_MODE:
        _demo_notice()
    if settings.registration_open:
        login_tab, register_tab = st.tabs([tr("login.tab_login"), tr("login.tab_register")])
        with login_tab:
            _login_form()
        with register_tab:
            _register_form()
    else:
        _login_form()


def _demo_notice() -> None:
    rows = "\n".join(
        f"| `{a.username}` | `{a.password}` | {tr('role.' + a.role)} |" for a in auth.DEMO_ACCOUNTS
    )
    st.info(
        f"**{tr('login.demo_title')}**\n\n{tr('login.demo_body')}\n\n"
        f"| {tr('login.username')} | {tr('login.password')} | {tr('login.role')} |\n|---|---|---|\n{rows}",
        icon=":material/science:",
    )


def _login_form() -> None:
    error = st.session_state.get(LOGIN_ERROR)
    if error:
        st.error(tr(error), icon=":material/error:")
    with st.form("zm_login", border=True):
        st.subheader(tr("login.form_title"))
        st.text_input(tr("login.username"), key="zm_login_username", autocomplete="username")
        st.text_input(tr("login.password"), type="password", key="zm_login_password", autocomplete="current-password")
        st.form_submit_button(tr("login.submit"), type="primary", on_click=_submit_login, width="stretch")


def _submit_registration() -> None:
    """Form callback: a new candidate account through core.auth, or the reason it was refused."""
    state = st.session_state
    try:
        user = auth.register_account(**{name: str(state.get(f"zm_reg_{name}") or "") for name in REGISTER_FIELDS},
                                     client=_client_address())
    except auth.RegistrationRefused as exc:
        state[REGISTER_ERROR] = f"login.err_{exc.reason}"
        return
    except (auth.AuthBusy, LimitStoreUnavailable):
        state[REGISTER_ERROR] = "login.err_busy"
        return
    state.pop(REGISTER_ERROR, None)
    state[REGISTERED] = user.username


def _register_form() -> None:
    if st.session_state.get(REGISTERED):
        st.success(tr("login.registered", username=st.session_state[REGISTERED]), icon=":material/check_circle:")
    with st.form("zm_register"):
        st.subheader(tr("login.register_title"))
        left, right = st.columns(2)
        left.text_input(tr("login.first_name"), key="zm_reg_first_name", autocomplete="given-name")
        right.text_input(tr("login.last_name"), key="zm_reg_last_name", autocomplete="family-name")
        left.text_input(tr("login.email"), key="zm_reg_email", autocomplete="email")
        right.text_input(tr("login.username"), key="zm_reg_username", autocomplete="username")
        left, right = st.columns(2)
        left.text_input(tr("login.password"), type="password", key="zm_reg_password", help=tr("login.password_rules"),
                        autocomplete="new-password")
        right.text_input(tr("login.repeat_password"), type="password", key="zm_reg_repeat_password",
                         autocomplete="new-password")
        st.form_submit_button(tr("login.register_submit"), on_click=_submit_registration)
    error = st.session_state.get(REGISTER_ERROR)
    if error:
        st.error(tr(error), icon=":material/error:")
