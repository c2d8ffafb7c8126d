"""Accounts (streamlit-authenticator's YAML format), registration, password checks, JWTs, login throttling.

The API's bearer token and the Streamlit re-login cookie are the same JWT, issued and checked here.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import bcrypt
import jwt
import yaml

from core import ratelimit
from core.config import Settings, get_settings

ROLES = ("candidate", "staff", "analyst")
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "zhimian-xinghuo"
COOKIE_NAME = "zhimian_auth"
LOGIN_COOKIE_LIFETIME = timedelta(days=7)
# bcrypt's work factor for new hashes: 10 is OWASP's minimum and costs ~0.2 s per login on this 2-core machine
# under load, where 12 cost 0.7-1.4 s of the 1 s login budget. A stored hash keeps the factor it was made with.
BCRYPT_ROUNDS = 10  # how long a browser stays signed in (the API's tokens live shorter)


# A demo account created (and shown on the login page) only in demo mode.
@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str


DEMO_ACCOUNTS = (
    DemoAccount("candidate", "candidate123", "candidate", "小明", "李"),
    DemoAccount("staff", "staff123", "staff", "老师", "王"),
    DemoAccount("analyst", "analyst123", "analyst", "分析师", "赵"),
)


# Who a request or page is acting for.
@dataclass(frozen=True)
class AuthUser:
    username: str
    name: str
    roles: tuple[str, ...]

    def has_any_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


class AuthError(Exception):
    """Wrong credentials, or an invalid or expired token."""


class RegistrationRefused(ValueError):
    """A registration that cannot be accepted; `reason` names what is wrong (first_name, email, taken, ...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


@lru_cache(maxsize=16)
def _cached_hash(password: str) -> str:
    """A hash computed once per process: demo passwords, and the stand-in checked for unknown users."""
    return hash_password(password)


def _demo_config() -> dict:
    users = {
        a.username: {
            "email": f"{a.username}@demo.zhimian.local", "first_name": a.first_name, "last_name": a.last_name,
            "password": _cached_hash(a.password), "roles": [a.role], "failed_login_attempts": 0, "logged_in": False,
        }
        for a in DEMO_ACCOUNTS
    }
    return {"credentials": {"usernames": users}, "cookie": _cookie_section()}


def _cookie_section() -> dict:
    return {"name": COOKIE_NAME, "key": "from SECRET_KEY", "expiry_days": LOGIN_COOKIE_LIFETIME.days}


_file_lock = threading.Lock()


def ensure_auth_config(settings: Settings | None = None) -> dict:
    """The accounts file as a dict; created on first start (demo accounts in demo mode, none otherwise)."""
    settings = settings or get_settings()
    path = Path(settings.AUTH_CONFIG)
    if not path.exists():
        with _file_lock:
            if not path.exists():
                config = _demo_config() if settings.DEMO_MODE else {
                    "credentials": {"usernames": {}}, "cookie": _cookie_section(),
                }
                _write_yaml(path, config)
    return load_auth_config(path)


def load_auth_config(path: Path) -> dict:
    """Read the accounts file (cached until it changes on disk)."""
    stat = Path(path).stat()
    return _read_yaml(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_yaml(path: str, _mtime: int, _size: int) -> dict:
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    config.setdefault("credentials", {}).setdefault("usernames", {})
    config["credentials"]["usernames"] = config["credentials"]["usernames"] or {}
    config.setdefault("cookie", _cookie_section())
    return config


def _update_users(settings: Settings, change: Callable[[dict], None]) -> None:
    """Apply `change` to the accounts read fresh from the file, then write them back atomically (one at a time)."""
    path = Path(settings.AUTH_CONFIG)
    with _file_lock:
        config = dict(load_auth_config(path)) if path.exists() else {"cookie": _cookie_section()}
        users = dict((config.get("credentials") or {}).get("usernames") or {})
        change(users)
        config["credentials"] = {"usernames": users}
        _write_yaml(path, config)


def _write_yaml(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".auth-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
    os.replace(tmp, path)


# --- self-registration: the rules streamlit-authenticator applied, except that a name may be one character (李) ---
_EMAIL = re.compile(r"^[a-zA-Z0-9._%+-]{1,254}@[a-zA-Z0-9.-]{1,253}\.[a-zA-Z]{2,63}$")
_USERNAME = re.compile(r"^([a-zA-Z0-9_-]{1,20}|[a-zA-Z0-9._%+-]{1,254}@[a-zA-Z0-9.-]{1,253}\.[a-zA-Z]{2,63})$")
_SYMBOLS = r"!@#$%^&*()_+\-=\[\]{};':\"\\|,.<>\/?`~"
_PASSWORD = re.compile(rf"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[{_SYMBOLS}])[A-Za-z\d{_SYMBOLS}]{{8,20}}$")


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 60 and not any(ch in name for ch in "<>{}[]\\/")


def _registration_problem(first_name: str, last_name: str, email: str, username: str, password: str,
                          repeat_password: str) -> str | None:
    checks = (
        ("first_name", _valid_name(first_name)), ("last_name", _valid_name(last_name)),
        ("email", bool(_EMAIL.match(email))), ("username", bool(_USERNAME.match(username))),
        ("password_empty", bool(password and repeat_password)), ("password_mismatch", password == repeat_password),
        ("password_weak", bool(_PASSWORD.match(password))),
    )
    return next((reason for reason, ok in checks if not ok), None)


def register_account(*, first_name: str, last_name: str, email: str, username: str, password: str,
                     repeat_password: str, client: str = "", settings: Settings | None = None) -> AuthUser:
    """Add a candidate account to the accounts file; RegistrationRefused(reason) when a field or the name is bad,
    or "throttled" past REGISTRATIONS_PER_PEER from this peer or REGISTRATIONS_PER_HOUR in all."""
    settings = settings or get_settings()
    first_name, last_name, email = first_name.strip(), last_name.strip(), email.strip()
    username, password, repeat_password = username.strip().lower(), password.strip(), repeat_password.strip()
    problem = _registration_problem(first_name, last_name, email, username, password, repeat_password)
    if problem:
        raise RegistrationRefused(problem)
    if not ((not client or ratelimit.hit(REGISTRATIONS_PER_PEER, "register", client).allowed)
            and ratelimit.hit(REGISTRATIONS_PER_HOUR, "register-all").allowed):
        raise RegistrationRefused("throttled")
    ensure_auth_config(settings)
    hashed = str(_with_hash_slot(lambda: hash_password(password)))

    def add(users: dict) -> None:
        if username in users or any(str(u.get("email", "")).lower() == email.lower() for u in users.values()):
            raise RegistrationRefused("taken")
        users[username] = {"email": email, "first_name": first_name, "last_name": last_name, "password": hashed,
                           "roles": ["candidate"]}

    _update_users(settings, add)
    return user_from_config(username, ensure_auth_config(settings))


def user_from_config(username: str, config: dict) -> AuthUser | None:
    user = config["credentials"]["usernames"].get(username)
    if user is None:
        return None
    name = f"{user.get('last_name', '')}{user.get('first_name', '')}".strip() or username
    roles = tuple(r for r in (user.get("roles") or ["candidate"]) if r in ROLES) or ("candidate",)
    return AuthUser(username=username, name=name, roles=roles)


# --- login throttling and the bcrypt budget ---------------------------------------------------------------
# A failure counts against the account from this peer (5 per 15 minutes) and against the account from anywhere
# (20 per 15 minutes: a client that changes its address, e.g. with a forged X-Forwarded-For, gains nothing);
# every attempt, successful or not, counts against the peer (60 a minute: a computer lab behind one NAT address
# still signs in at once). The peer is the address the server saw, or the one a trusted proxy (uvicorn's
# FORWARDED_ALLOW_IPS) forwarded; when it is unknown (a Streamlit host that does not say) only the account and
# global caps apply, so unrelated users are never lumped together. Counters live in core.ratelimit: in Redis with
# REDIS_URL (shared by workers, kept across restarts), in process memory otherwise.
LOGIN_FAILURES_PER_PEER = "5/15 minutes"
LOGIN_FAILURES_PER_ACCOUNT = "20/15 minutes"
LOGIN_ATTEMPTS_PER_PEER = "60/minute"
REGISTRATIONS_PER_PEER = "20/hour"
REGISTRATIONS_PER_HOUR = "200/hour"  # every peer together: a bound on accounts a flood can add
LOGIN_FAILURE_LIMIT = ratelimit.parse_rate(LOGIN_FAILURES_PER_PEER)
# bcrypt is deliberately slow: at most one check per core runs at once (bcrypt releases the GIL; the rest wait
# their turn, up to HASH_WAIT_S), never in the threads that serve other requests. One slot per core, not half:
# measured with 60 logins at once on 2 cores, /health stayed under 1.5 s either way and the burst took 25 s
# instead of 38 s.
HASH_SLOTS = max(1, os.cpu_count() or 2)
HASH_WAIT_S = 10.0
_hash_slots = threading.BoundedSemaphore(HASH_SLOTS)


class TooManyAttempts(AuthError):
    """Too many logins or failures for this account or peer; `retry_after` seconds until one more may run;
    `reason` is "attempts" (this address signs in too often) or "failures" (this account failed too often)."""

    def __init__(self, message: str, retry_after: int = 15 * 60, reason: str = "failures"):
        super().__init__(message)
        self.retry_after, self.reason = retry_after, reason


class AuthBusy(RuntimeError):
    """Every bcrypt slot stayed busy for HASH_WAIT_S: the server is overloaded with logins; retry shortly."""

    def __init__(self) -> None:
        super().__init__("登录请求过多，请稍后重试 / too many logins at once, please retry shortly")


def _with_hash_slot(work: Callable[[], object]) -> object:
    if not _hash_slots.acquire(timeout=HASH_WAIT_S):
        raise AuthBusy()
    try:
        return work()
    finally:
        _hash_slots.release()


def _check_password(password: str, stored: str | None) -> bool:
    """bcrypt check within the slot budget; an unknown user costs a check too, so timing does not tell who has an
    account."""
    def check() -> bool:
        try:
            return bcrypt.checkpw(password.encode(), str(stored or _cached_hash("no such account")).encode())
        except ValueError:  # a malformed stored hash, or a password bcrypt refuses (NUL)
            return False

    return bool(_with_hash_slot(check)) and bool(stored)


def _peer(client: str) -> str:
    return client or "local"


def login_allowed(username: str, client: str = "") -> bool:
    """Whether another failure would still be counted rather than refused up front."""
    account = username.strip().lower()
    return (ratelimit.allowed(LOGIN_FAILURES_PER_PEER, "login-fail", account, _peer(client))
            and ratelimit.allowed(LOGIN_FAILURES_PER_ACCOUNT, "login-fail-account", account))


def record_login_failure(username: str, client: str = "") -> None:
    account = username.strip().lower()
    ratelimit.hit(LOGIN_FAILURES_PER_PEER, "login-fail", account, _peer(client))
    ratelimit.hit(LOGIN_FAILURES_PER_ACCOUNT, "login-fail-account", account)


def reset_login_failures() -> None:
    ratelimit.reset_limits()


def _locked_out(username: str, client: str) -> TooManyAttempts | None:
    """Why this login may not be tried now (the peer's attempts, or the account's failures), or None."""
    peer = _peer(client)
    attempt = ratelimit.hit(LOGIN_ATTEMPTS_PER_PEER, "login", client) if client else ratelimit.RateDecision(True)
    if not attempt.allowed:
        return TooManyAttempts(f"登录尝试过于频繁，请 {attempt.retry_after} 秒后再试 / too many login attempts, retry "
                               f"in {attempt.retry_after} s", attempt.retry_after, "attempts")
    for rate, keys in ((LOGIN_FAILURES_PER_PEER, ("login-fail", username, peer)),
                       (LOGIN_FAILURES_PER_ACCOUNT, ("login-fail-account", username))):
        if not ratelimit.allowed(rate, *keys):
            wait = ratelimit.retry_after(rate, *keys)
            return TooManyAttempts("登录失败次数过多，请 15 分钟后再试 / too many failed logins, try again later", wait)
    return None


def authenticate(username: str, password: str, *, client: str = "", settings: Settings | None = None) -> AuthUser:
    """Check a username and password; raises AuthError (same message for unknown user and wrong password),
    TooManyAttempts over a cap, AuthBusy when every bcrypt slot stays busy."""
    settings = settings or get_settings()
    username = (username or "").strip().lower()
    refused = _locked_out(username, client)
    if refused is not None:
        raise refused
    config = ensure_auth_config(settings)
    stored = config["credentials"]["usernames"].get(username, {}).get("password")
    if not _check_password(password or "", stored):
        record_login_failure(username, client)
        raise AuthError("用户名或密码错误 / incorrect username or password")
    return user_from_config(username, config)


def create_access_token(user: AuthUser, settings: Settings | None = None, *,
                        lifetime: timedelta | None = None) -> tuple[str, int]:
    """A signed JWT for `user` and its lifetime in seconds (ACCESS_TOKEN_MINUTES unless `lifetime` is given)."""
    settings = settings or get_settings()
    lifetime = lifetime or timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)
    now = datetime.now(UTC)
    claims = {"sub": user.username, "name": user.name, "roles": list(user.roles), "iat": now, "exp": now + lifetime,
              "iss": JWT_ISSUER}
    return jwt.encode(claims, settings.secret_key(), algorithm=JWT_ALGORITHM), int(lifetime.total_seconds())


def decode_access_token(token: str, settings: Settings | None = None) -> AuthUser:
    """The user a token was issued to; AuthError when it is invalid, expired or the account is gone."""
    settings = settings or get_settings()
    try:
        claims = jwt.decode(token, settings.secret_key(), algorithms=[JWT_ALGORITHM], issuer=JWT_ISSUER,
                            options={"require": ["exp", "sub", "iat"]})
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid or expired token: {exc}") from None
    user = user_from_config(str(claims["sub"]), ensure_auth_config(settings))
    if user is None:
        raise AuthError("account no longer exists")
    return user
