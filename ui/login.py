"""Login gate over streamlit-authenticator: cookie re-login, throttled login form, registration, logout."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import Hasher, LoginError, RegisterError, Validator

from core import auth
from core.config import Settings
from ui.common import LANG, USER, language_selector, tr

LOGIN_PENDING = "zm_login_pending"
LOGIN_ERROR = "zm_login_error"
LOGOUT_REQUESTED = "zm_logout_requested"
REGISTERED = "zm_registered"
LOGIN_COOKIE = "zm_login_cookie"
# Not zm_*: these survive the logout's clean-up.
LOGGED_OUT = "zhimian_logged_out"
AUTHENTICATOR = "zhimian_authenticator"
COOKIE_WRITTEN = "zhimian_cookie_written"

# streamlit-authenticator's English messages -> our catalogue keys.
_LIBRARY_ERRORS = {
    "First name is not valid": "login.err_first_name",
    "Last name is not valid": "login.err_last_name",
    "Email is not valid": "login.err_email",
    "Username is not valid": "login.err_username",
    "Email already taken": "login.err_taken",
    "User already exists": "login.err_taken",
    "Username/email already taken": "login.err_taken",
    "Passwords do not match": "login.err_password_mismatch",
    "Password/repeat password fields cannot be empty": "login.err_password_empty",
}


# Chinese names are often one character (李): the library's validator wants at least two.
class _Validator(Validator):
    def validate_name(self, name: str) -> bool:
        return 1 <= len(name.strip()) <= 60 and not any(ch in name for ch in "<>{}[]\\/")


def build_authenticator(settings: Settings) -> tuple[stauth.Authenticate, dict]:
    """This browser session's Authenticate, given a fresh copy of the accounts file on every run.

    It is built once per browser session: its constructor renders a cookie-reading component whose report reruns
    the script, and rendered on every run that component remounts after each page switch and reruns the script
    again, which can swallow a chat message sent at that moment. Logins read the cookie via st.context.cookies.
    """
    config = auth.ensure_auth_config(settings)
    authenticator = st.session_state.get(AUTHENTICATOR)
    if authenticator is None:
        authenticator = stauth.Authenticate(
            copy.deepcopy(config["credentials"]), cookie_name=auth.COOKIE_NAME, cookie_key=auth.cookie_key(settings),
            cookie_expiry_days=7, validator=_Validator(), login_sleep_time=0,
        )
        st.session_state[AUTHENTICATOR] = authenticator
    authenticator.authentication_controller.authentication_model.credentials = _credentials(config)
    authenticator.attrs["password_instructions"] = tr("login.password_rules")
    return authenticator, config


def _credentials(config: dict) -> dict:
    """A copy the library may mutate; usernames lower-cased and any plain-text password hashed, as it expects."""
    users = {}
    for username, user in copy.deepcopy(config["credentials"]["usernames"]).items():
        if user.get("password") and not Hasher.is_hash(str(user["password"])):
            user["password"] = Hasher.hash(str(user["password"]))
        users[str(username).lower()] = user
    return {"usernames": users}


def _library_credentials(authenticator: stauth.Authenticate) -> dict:
    return authenticator.authentication_controller.authentication_model.credentials


def _remember_login_attempt() -> None:
    st.session_state[LOGIN_PENDING] = True


def request_logout() -> None:
    st.session_state[LOGOUT_REQUESTED] = True


def handle_logout(authenticator: stauth.Authenticate) -> None:
    """Log out if the sidebar button asked for it: clears every zm_* key but the language; the cookie goes next."""
    if not st.session_state.pop(LOGOUT_REQUESTED, False):
        return
    authenticator.authentication_controller.logout()
    for key in [k for k in st.session_state if str(k).startswith("zm_") and k not in (LANG, "zm_lang_widget")]:
        del st.session_state[key]
    st.session_state[LOGGED_OUT] = True
    st.query_params.pop("session", None)


def sync_login_cookie(authenticator: stauth.Authenticate) -> None:
    """Write (after a form login) or delete (after logout) the re-login cookie.

    The browser component that does it stays rendered, with the same arguments, until it reports back (its value
    turns True): rendered on one run only, a rerun could unmount it before its iframe has loaded, and the cookie
    would never be written (a refresh logs the user out) or never deleted (a refresh logs the user back in).
    """
    manager = authenticator.cookie_controller.cookie_model.cookie_manager
    state = st.session_state
    if state.get("authentication_status"):
        issued = state.get(LOGIN_COOKIE)
        if issued and state.get(COOKIE_WRITTEN) != issued[0]:
            if state.get("set") is True:
                state[COOKIE_WRITTEN] = issued[0]
            else:
                manager.set(auth.COOKIE_NAME, issued[0], expires_at=issued[1], key="set")
    elif state.get(LOGGED_OUT) and state.get(COOKIE_WRITTEN) != "deleted":
        if state.get("delete") is True:
            state[COOKIE_WRITTEN] = "deleted"
            return
        try:
            manager.delete(auth.COOKIE_NAME, key="delete")
        except KeyError:  # the component was rendered; the library's local copy simply had no such cookie
            pass


def _issue_login_cookie(authenticator: stauth.Authenticate) -> None:
    """The library's signed re-login token for the user just logged in, kept until the component has run."""
    model = authenticator.cookie_controller.cookie_model
    model.exp_date = model._set_exp_date()
    st.session_state[LOGIN_COOKIE] = (model._token_encode(), datetime.now() + timedelta(days=model.cookie_expiry_days))
    st.session_state.pop(LOGGED_OUT, None)


def _process_login(authenticator: stauth.Authenticate) -> None:
    """Check a submitted login form, refusing further tries once an account hit the failure cap."""
    username = str(st.session_state.get("zm_login_username") or "").strip().lower()
    password = str(st.session_state.get("zm_login_password") or "")
    if not username or not password:
        st.session_state[LOGIN_ERROR] = "login.err_empty"
        return
    if not auth.login_allowed(username):
        st.session_state[LOGIN_ERROR] = "login.err_locked"
        return
    try:
        ok = authenticator.authentication_controller.login(username, password)
    except LoginError:
        ok = False
    if ok:
        st.session_state.pop(LOGIN_ERROR, None)
        st.session_state.pop("zm_login_password", None)
        _issue_login_cookie(authenticator)
        return
    auth.record_login_failure(username)
    st.session_state["authentication_status"] = None
    st.session_state[LOGIN_ERROR] = "login.err_wrong" if auth.login_allowed(username) else "login.err_locked"


def signed_in_user(authenticator: stauth.Authenticate, config: dict) -> auth.AuthUser | None:
    """The user of this browser session: already signed in, by cookie, or by the form just submitted."""
    if not st.session_state.get("authentication_status"):
        try:
            authenticator.login(location="unrendered")  # the re-authentication cookie, if valid
        except LoginError:
            st.session_state["authentication_status"] = None
    if not st.session_state.get("authentication_status") and st.session_state.pop(LOGIN_PENDING, False):
        _process_login(authenticator)
    username = st.session_state.get("username") if st.session_state.get("authentication_status") else None
    user = auth.user_from_config(username, config) if username else None
    if username and user is None:  # the account was removed from the file
        authenticator.logout(location="unrendered")
    st.session_state[USER] = user
    return user


def render_login_page(authenticator: stauth.Authenticate, settings: Settings) -> None:
    """Title, language switch, demo notice, and the login / registration tabs."""
    head, switch = st.columns([4, 1], vertical_alignment="bottom")
    head.title(tr("app.title"))
    with switch:
        language_selector()
    st.caption(tr("app.tagline"))
    if settings.DEMO_MODE:
        _demo_notice()
    if settings.ALLOW_REGISTRATION:
        login_tab, register_tab = st.tabs([tr("login.tab_login"), tr("login.tab_register")])
        with login_tab:
            _login_form()
        with register_tab:
            _register_form(authenticator, settings)
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
        st.form_submit_button(
            tr("login.submit"), type="primary", on_click=_remember_login_attempt, width="stretch"
        )


def _register_form(authenticator: stauth.Authenticate, settings: Settings) -> None:
    if st.session_state.get(REGISTERED):
        st.success(tr("login.registered", username=st.session_state[REGISTERED]), icon=":material/check_circle:")
    fields = {
        "Form name": tr("login.register_title"), "First name": tr("login.first_name"),
        "Last name": tr("login.last_name"), "Email": tr("login.email"), "Username": tr("login.username"),
        "Password": tr("login.password"), "Repeat password": tr("login.repeat_password"),
        "Register": tr("login.register_submit"),
    }
    try:
        _email, username, _name = authenticator.register_user(
            location="main", fields=fields, captcha=False, roles=["candidate"], password_hint=False,
            clear_on_submit=False, key="zm_register",
        )
    except RegisterError as exc:
        st.error(_register_error(exc.message), icon=":material/error:")
        return
    if username:
        auth.save_credentials(_library_credentials(authenticator), settings)
        st.session_state[REGISTERED] = username
        st.rerun()


def _register_error(message: str) -> str:
    key = _LIBRARY_ERRORS.get(message.strip())
    if key:
        return tr(key)
    if "Password must" in message:
        return tr("login.err_password_weak")
    return message
