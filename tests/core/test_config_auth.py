"""Settings refuse unsafe secrets; accounts, passwords, tokens and the login cap."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import yaml

from core import auth
from core.config import ConfigError, load_settings


@pytest.mark.parametrize("key", [None, "change-me", "password", "x", "short-but-not-32-bytes-long",
                                 "zhimian-demo-secret-key-not-for-production"])
def test_a_weak_or_placeholder_key_stops_start_outside_demo_mode(key, tmp_path):
    env = {"DEMO_MODE": "false", "SECRET_KEY_FILE": str(tmp_path / "k")} | ({"SECRET_KEY": key} if key else {})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(env)
    strong = load_settings({"DEMO_MODE": "false", "SECRET_KEY": "x" * 40})
    assert strong.secret_key() == "x" * 40 and "x" * 40 not in repr(strong)  # SecretStr: never printed


def test_demo_mode_signs_with_a_random_key_of_this_installation(tmp_path):
    first = load_settings({"SECRET_KEY_FILE": str(tmp_path / "k")})
    again = load_settings({"SECRET_KEY_FILE": str(tmp_path / "k"), "SECRET_KEY": "change-me"})
    other = load_settings({"SECRET_KEY_FILE": str(tmp_path / "elsewhere")})
    assert first.DEMO_MODE is True  # zero configuration works
    assert first.secret_key() == again.secret_key() != other.secret_key()  # kept across restarts, unique per install
    assert len(first.secret_key()) >= 32 and (tmp_path / "k").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("name", "value"), [("MAX_SESSIONS_PER_USER", "many"), ("TURN_RATE_LIMIT", "lots"),
                                             ("INTERVIEWER_TIMEOUT", "-3"), ("DEMO_MODE", "perhaps")])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=rf"^{name}: .*{value}"):
        load_settings({name: value, "SECRET_KEY": "k" * 40})


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
                          "iss": auth.JWT_ISSUER}, get_settings().secret_key(), algorithm="HS256")
    with pytest.raises(auth.AuthError, match="expired"):
        auth.decode_access_token(expired)


def test_an_unknown_user_costs_a_password_check_too(app_env, monkeypatch):
    auth.reset_login_failures()
    auth.ensure_auth_config()
    checks = []
    real_check = auth.bcrypt.checkpw
    monkeypatch.setattr(auth.bcrypt, "checkpw", lambda pw, hashed: checks.append(hashed) or real_check(pw, hashed))
    for username in ("candidate", "nobody"):
        with pytest.raises(auth.AuthError, match="incorrect username or password"):
            auth.authenticate(username, "wrong-password")
    assert len(checks) == 2 and checks[0] != checks[1]


def test_failed_logins_are_capped(app_env):
    auth.reset_login_failures()
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate("candidate", "wrong", client="1.2.3.4")
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate("candidate", "candidate123", client="1.2.3.4")
    assert auth.authenticate("candidate", "candidate123", client="5.6.7.8").username == "candidate"
    auth.reset_login_failures()


def register(username: str = "newbie", **fields) -> auth.AuthUser:
    values = {"first_name": "新", "last_name": "人", "email": f"{username}@x.cn", "username": username,
              "password": "Newbie#2024", "repeat_password": "Newbie#2024"} | fields
    return auth.register_account(**values)


def test_a_registered_candidate_signs_in_and_gets_an_api_token(app_env):
    auth.reset_login_failures()
    registered = register("NewBie ", email="newbie@x.cn")
    assert registered == auth.AuthUser(username="newbie", name="人新", roles=("candidate",))
    stored = auth.load_auth_config(app_env / "auth.yaml")["credentials"]["usernames"]["newbie"]
    assert stored["roles"] == ["candidate"] and stored["password"].startswith("$2b$") and "Newbie" not in str(stored)

    user = auth.authenticate("Newbie", "Newbie#2024")  # user names are not case-sensitive
    token, _ = auth.create_access_token(user)
    assert auth.decode_access_token(token) == user


@pytest.mark.parametrize(("fields", "reason"), [
    ({"first_name": " "}, "first_name"), ({"last_name": "<b>"}, "last_name"), ({"email": "not-an-email"}, "email"),
    ({"username": "has space", "email": "ok@x.cn"}, "username"),
    ({"password": "", "repeat_password": ""}, "password_empty"),
    ({"repeat_password": "Other#2024"}, "password_mismatch"),
    ({"password": "short", "repeat_password": "short"}, "password_weak"),
    ({"username": "candidate"}, "taken"), ({"email": "candidate@demo.zhimian.local"}, "taken"),
])
def test_registration_refusals_name_their_reason(app_env, fields, reason):
    auth.ensure_auth_config()
    with pytest.raises(auth.RegistrationRefused) as refused:
        register(**fields)
    assert refused.value.reason == reason
    assert "newbie" not in auth.ensure_auth_config()["credentials"]["usernames"]


def test_one_character_names_are_accepted(app_env):
    assert register(first_name="明", last_name="李").name == "李明"


def test_concurrent_registrations_keep_every_account(app_env):
    auth.ensure_auth_config()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(register, ["amy", "ben", "cai", "dan"]))
    users = auth.load_auth_config(app_env / "auth.yaml")["credentials"]["usernames"]
    assert {"amy", "ben", "cai", "dan", "candidate", "staff", "analyst"} <= set(users)


def test_a_longer_lifetime_for_the_login_cookie(app_env):
    user = auth.AuthUser(username="candidate", name="李小明", roles=("candidate",))
    auth.ensure_auth_config()
    token, seconds = auth.create_access_token(user, lifetime=auth.LOGIN_COOKIE_LIFETIME)
    assert seconds == 7 * 24 * 3600 and auth.decode_access_token(token) == user
