"""Accounts (streamlit-authenticator's YAML format), password checks, JWT access tokens, login throttling."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import bcrypt
import jwt
import yaml
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from core.config import Settings, get_settings

ROLES = ("candidate", "staff", "analyst")
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "zhimian-xinghuo"
COOKIE_NAME = "zhimian_auth"


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


class TooManyAttempts(AuthError):
    """Too many failed logins for this account in the current window."""


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


@lru_cache(maxsize=16)
def _demo_hash(password: str) -> str:
    return hash_password(password)


def cookie_key(settings: Settings) -> str:
    """The re-authentication cookie key, derived from SECRET_KEY (never stored in the accounts file)."""
    return hashlib.sha256(f"cookie:{settings.SECRET_KEY}".encode()).hexdigest()


def _demo_config() -> dict:
    users = {
        a.username: {
            "email": f"{a.username}@demo.zhimian.local", "first_name": a.first_name, "last_name": a.last_name,
            "password": _demo_hash(a.password), "roles": [a.role], "failed_login_attempts": 0, "logged_in": False,
        }
        for a in DEMO_ACCOUNTS
    }
    return {"credentials": {"usernames": users}, "cookie": _cookie_section()}


def _cookie_section() -> dict:
    return {"name": COOKIE_NAME, "key": "from SECRET_KEY", "expiry_days": 7}


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


def save_credentials(credentials: dict, settings: Settings | None = None) -> None:
    """Merge `credentials` into the accounts file atomically (e.g. after self-registration).

    Accounts already in the file but missing from `credentials` are kept, so two people registering at
    the same moment from copies read earlier do not overwrite each other.
    """
    settings = settings or get_settings()
    path = Path(settings.AUTH_CONFIG)
    with _file_lock:
        config = dict(load_auth_config(path)) if path.exists() else {}
        users = dict((config.get("credentials") or {}).get("usernames") or {})
        users |= {
            name: {k: v for k, v in user.items() if k != "logged_in"}
            for name, user in (credentials.get("usernames") or {}).items()
        }
        for user in users.values():
            user["roles"] = user.get("roles") or ["candidate"]
        config["credentials"] = {"usernames": users}
        _write_yaml(path, config)


def _write_yaml(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".auth-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(config, fh, allow_unicode=True, sort_keys=False)
    os.replace(tmp, path)


def user_from_config(username: str, config: dict) -> AuthUser | None:
    user = config["credentials"]["usernames"].get(username)
    if user is None:
        return None
    name = f"{user.get('last_name', '')}{user.get('first_name', '')}".strip() or username
    roles = tuple(r for r in (user.get("roles") or ["candidate"]) if r in ROLES) or ("candidate",)
    return AuthUser(username=username, name=name, roles=roles)


# --- login throttling: at most 5 failures per account and client in 15 minutes ---------------------------
_throttle_storage = MemoryStorage()
_throttle = MovingWindowRateLimiter(_throttle_storage)
LOGIN_FAILURE_LIMIT = parse("5/15 minutes")


def login_allowed(username: str, client: str = "") -> bool:
    return _throttle.test(LOGIN_FAILURE_LIMIT, "login", username.lower(), client)


def record_login_failure(username: str, client: str = "") -> None:
    _throttle.hit(LOGIN_FAILURE_LIMIT, "login", username.lower(), client)


def reset_login_failures() -> None:
    _throttle_storage.reset()


def authenticate(username: str, password: str, *, client: str = "", settings: Settings | None = None) -> AuthUser:
    """Check a username and password; raises AuthError (same message for unknown user and wrong password)."""
    settings = settings or get_settings()
    username = (username or "").strip()
    if not login_allowed(username, client):
        raise TooManyAttempts("登录失败次数过多，请 15 分钟后再试 / too many failed logins, try again later")
    config = ensure_auth_config(settings)
    stored = config["credentials"]["usernames"].get(username, {}).get("password")
    ok = False
    if stored:
        try:
            ok = bcrypt.checkpw(password.encode(), str(stored).encode())
        except ValueError:
            ok = False
    if not ok:
        record_login_failure(username, client)
        raise AuthError("用户名或密码错误 / incorrect username or password")
    return user_from_config(username, config)


def create_access_token(user: AuthUser, settings: Settings | None = None) -> tuple[str, int]:
    """A signed JWT for `user` and its lifetime in seconds."""
    settings = settings or get_settings()
    lifetime = timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)
    now = datetime.now(UTC)
    claims = {"sub": user.username, "name": user.name, "roles": list(user.roles), "iat": now, "exp": now + lifetime,
              "iss": JWT_ISSUER}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=JWT_ALGORITHM), int(lifetime.total_seconds())


def decode_access_token(token: str, settings: Settings | None = None) -> AuthUser:
    """The user a token was issued to; AuthError when it is invalid, expired or the account is gone."""
    settings = settings or get_settings()
    try:
        claims = jwt.decode(token, settings.SECRET_KEY, algorithms=[JWT_ALGORITHM], issuer=JWT_ISSUER,
                            options={"require": ["exp", "sub", "iat"]})
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid or expired token: {exc}") from None
    user = user_from_config(str(claims["sub"]), ensure_auth_config(settings))
    if user is None:
        raise AuthError("account no longer exists")
    return user
