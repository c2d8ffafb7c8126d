"""The login page under the issue-11 limits: a device that signs in too often is told to wait, not that the
account is locked; a registration flood from one device is refused with a clear message."""

from __future__ import annotations

from core import auth, ratelimit
from tests.pages.helpers import new_app, ok, submit_login


def test_a_device_signing_in_too_often_is_told_to_wait_a_minute(app_env, monkeypatch):
    import ui.login

    monkeypatch.setattr(ui.login, "_client_address", lambda: "10.70.0.1")
    for _ in range(ratelimit.parse_rate(auth.LOGIN_ATTEMPTS_PER_PEER).amount):
        ratelimit.hit(auth.LOGIN_ATTEMPTS_PER_PEER, "login", "10.70.0.1")

    at = submit_login(ok(new_app().run()), "candidate", "candidate123")

    assert at.session_state["zm_user"] is None
    assert "一分钟后再试" in at.error[0].value and "失败次数" not in at.error[0].value


def test_registrations_from_one_device_are_throttled_with_a_message(app_env, monkeypatch):
    import ui.login

    monkeypatch.setattr(ui.login, "_client_address", lambda: "10.70.0.2")
    for _ in range(ratelimit.parse_rate(auth.REGISTRATIONS_PER_PEER).amount):
        ratelimit.hit(auth.REGISTRATIONS_PER_PEER, "register", "10.70.0.2")

    at = ok(new_app().run())
    form = {t.label: t for t in at.text_input if t.form_id == "zm_register"}
    for label, value in (("名", "小红"), ("姓", "王"), ("邮箱", "hong@example.com"), ("用户名", "hong"),
                         ("密码", "Secret#2024"), ("确认密码", "Secret#2024")):
        form[label].input(value)
    ok(next(b for b in at.button if b.key.startswith("FormSubmitter:zm_register")).click().run())

    assert any("一小时后再试" in e.value for e in at.error)
    assert "hong" not in auth.ensure_auth_config()["credentials"]["usernames"]
