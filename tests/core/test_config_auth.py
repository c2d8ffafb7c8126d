"""Settings refuse unsafe secrets; accounts, passwords, tokens and the login cap."""

from __future__ import annotations

import time

import jwt
import pytest
import yaml

from core import auth
from core.config import ConfigError, load_settings


def test_placeholder_secret_stops_start_outside_demo_mode():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"DEMO_MODE": "false", "SECRET_KEY": "change-me"})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"DEMO_MODE": "false"})
    assert load_settings({"DEMO_MODE": "false", "SECRET_KEY": "x" * 40}).SECRET_KEY == "x" * 40
    assert load_settings({}).DEMO_MODE is True  # zero configuration works


def test_unknown_language_or_fallback_is_refused():
    with pytest.raises(ConfigError):
        load_settings({"DEFAULT_LANGUAGE": "fr"})
    with pytest.raises(ConfigError):
        load_settings({"INTERVIEWER_FALLBACK": "magic"})


def test_demo_accounts_created_in_streamlit_authenticator_format(app_env):
    config = auth.ensure_auth_config()
    users = config["credentials"]["usernames"]
    assert set(users) == {"candidate", "staff", "analyst"}
    assert users["staff"]["roles"] == ["staff"] and users["staff"]["password"].startswith("$2b$")
    assert {"name", "key", "expiry_days"} <= set(config["cookie"])
    on_disk = yaml.safe_load((app_env / "auth.yaml").read_text(encoding="utf-8"))
    assert "candidate123" not in (app_env / "auth.yaml").read_text() and on_disk["credentials"]


def test_no_demo_accounts_outside_demo_mode(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("DEMO_MODE", "false")
    reset_settings()
    assert auth.ensure_auth_config()["credentials"]["usernames"] == {}
    with pytest.raises(auth.AuthError):
        auth.authenticate("candidate", "candidate123")


def test_password_and_token_round_trip(app_env):
    auth.reset_login_failures()
    user = auth.authenticate("analyst", "analyst123")
    assert user.roles == ("analyst",)
    token, lifetime = auth.create_access_token(user)
    assert lifetime > 0 and auth.decode_access_token(token) == user
    with pytest.raises(auth.AuthError):
        auth.decode_access_token(token + "x")
    from core.config import get_settings

    expired = jwt.encode({"sub": "analyst", "iat": time.time() - 100, "exp": time.time() - 10,
                          "iss": auth.JWT_ISSUER}, get_settings().SECRET_KEY, algorithm="HS256")
    with pytest.raises(auth.AuthError, match="expired"):
        auth.decode_access_token(expired)


def test_failed_logins_are_capped(app_env):
    auth.reset_login_failures()
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate("candidate", "wrong", client="1.2.3.4")
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate("candidate", "candidate123", client="1.2.3.4")
    assert auth.authenticate("candidate", "candidate123", client="5.6.7.8").username == "candidate"
    auth.reset_login_failures()


def test_registration_persists_without_runtime_flags(app_env):
    config = auth.ensure_auth_config()
    creds = {"usernames": dict(config["credentials"]["usernames"])}
    creds["usernames"]["newbie"] = {"email": "n@x.cn", "first_name": "新", "last_name": "人",
                                    "password": auth.hash_password("pw-123456"), "roles": None, "logged_in": True}
    auth.save_credentials(creds)
    reloaded = auth.load_auth_config(app_env / "auth.yaml")
    assert reloaded["credentials"]["usernames"]["newbie"]["roles"] == ["candidate"]
    assert "logged_in" not in reloaded["credentials"]["usernames"]["newbie"]
    assert auth.authenticate("newbie", "pw-123456").roles == ("candidate",)


def test_concurrent_registrations_from_stale_copies_keep_both_accounts(app_env):
    stale = {"usernames": dict(auth.ensure_auth_config()["credentials"]["usernames"])}
    first = {"usernames": stale["usernames"] | {"amy": {"email": "a@x.cn", "password": auth.hash_password("pw-aaaa11"),
                                                       "roles": ["candidate"]}}}
    second = {"usernames": stale["usernames"] | {"ben": {"email": "b@x.cn", "password": auth.hash_password("pw-bbbb22"),
                                                        "roles": ["candidate"]}}}
    auth.save_credentials(first)
    auth.save_credentials(second)
    users = auth.load_auth_config(app_env / "auth.yaml")["credentials"]["usernames"]
    assert {"amy", "ben", "candidate", "staff", "analyst"} <= set(users)
