"""One settings object, read once from the environment with `.streamlit/secrets.toml` as fallback."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "please-change-this-secret"}
DEMO_SECRET_KEY = "zhimian-demo-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """Raised when the configuration cannot start the app safely."""


def _secrets_file() -> dict:
    path = ROOT / ".streamlit" / "secrets.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _truthy(value: str | bool | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The whole configuration; fields are UPPER_CASE like the environment variables they come from.
@dataclass(frozen=True)
class Settings:
    DATABASE_URL: str
    SECRET_KEY: str
    DEMO_MODE: bool
    AUTH_CONFIG: Path
    INTERVIEWER_MODEL: str = ""
    INTERVIEWER_API_BASE: str | None = None
    INTERVIEWER_API_KEY: str | None = None
    INTERVIEWER_TIMEOUT: float = 30.0
    INTERVIEWER_FALLBACK: str = ""
    ALLOWED_ORIGINS: tuple[str, ...] = field(default_factory=tuple)
    DEFAULT_LANGUAGE: str = "zh-CN"
    ALLOW_REGISTRATION: bool = True
    MAX_SESSIONS_PER_USER: int = 200
    TURN_RATE_LIMIT: str = "30/minute"
    ACCESS_TOKEN_MINUTES: int = 60 * 12
    STATS_INCLUDE_NAMES: bool = False

    @property
    def uses_llm(self) -> bool:
        return bool(self.INTERVIEWER_MODEL)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from `env` (default os.environ), falling back to secrets.toml, then defaults."""
    env = dict(os.environ if env is None else env)
    secrets = _secrets_file()

    def get(name: str, default=None):
        value = env.get(name)
        if value not in (None, ""):
            return value
        return secrets.get(name, default)

    demo = _truthy(get("DEMO_MODE"), True)
    secret = str(get("SECRET_KEY", "") or "")
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        if not demo:
            raise ConfigError(
                "SECRET_KEY is missing or still a placeholder. Set a long random SECRET_KEY "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) or turn DEMO_MODE on."
            )
        secret = DEMO_SECRET_KEY
    origins = get("ALLOWED_ORIGINS", "http://localhost:8501,http://127.0.0.1:8501,http://localhost:8000,http://127.0.0.1:8000")
    if isinstance(origins, str):
        origins = [o.strip() for o in origins.split(",") if o.strip()]
    language = str(get("DEFAULT_LANGUAGE", "zh-CN"))
    if language not in ("zh-CN", "en"):
        raise ConfigError(f"DEFAULT_LANGUAGE must be zh-CN or en, not {language!r}.")
    fallback = str(get("INTERVIEWER_FALLBACK", "") or "").strip().lower()
    if fallback not in ("", "offline"):
        raise ConfigError(f"INTERVIEWER_FALLBACK must be empty or 'offline', not {fallback!r}.")
    return Settings(
        DATABASE_URL=str(get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'zhimian.db'}")),
        SECRET_KEY=secret,
        DEMO_MODE=demo,
        AUTH_CONFIG=Path(str(get("AUTH_CONFIG", DATA_DIR / "auth.yaml"))),
        INTERVIEWER_MODEL=str(get("INTERVIEWER_MODEL", "") or ""),
        INTERVIEWER_API_BASE=get("INTERVIEWER_API_BASE") or None,
        INTERVIEWER_API_KEY=get("INTERVIEWER_API_KEY") or None,
        INTERVIEWER_TIMEOUT=float(get("INTERVIEWER_TIMEOUT", 30)),
        INTERVIEWER_FALLBACK=fallback,
        ALLOWED_ORIGINS=tuple(origins),
        DEFAULT_LANGUAGE=language,
        ALLOW_REGISTRATION=_truthy(get("ALLOW_REGISTRATION"), demo),
        MAX_SESSIONS_PER_USER=int(get("MAX_SESSIONS_PER_USER", 200)),
        TURN_RATE_LIMIT=str(get("TURN_RATE_LIMIT", "30/minute")),
        ACCESS_TOKEN_MINUTES=int(get("ACCESS_TOKEN_MINUTES", 720)),
        STATS_INCLUDE_NAMES=_truthy(get("STATS_INCLUDE_NAMES"), False),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
