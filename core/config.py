"""One settings object (pydantic-settings), read once: environment variables first, `.streamlit/secrets.toml` as
fallback, then the defaults that run the whole app with zero configuration. A bad value stops start-up with an error
that names the variable. Secrets are SecretStr: weak or placeholder keys are refused outside demo mode, and demo mode
signs with a random key kept in the data folder (never a key from the source).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"
MIN_SECRET_BYTES = 32
# Values people leave in place, and the key an earlier release published in its source: never accepted.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "password", "please-change-this-secret",
                                 "your-secret-key", "zhimian-demo-secret-key-not-for-production"})
# Output tokens per kind of model call: the interviewer's reply, one answer's grade, the report's prose, the facts
# extracted from an uploaded resume.
DEFAULT_MAX_TOKENS = {"reply": 200, "grade": 120, "report": 400, "resume": 800}
DEFAULT_ORIGINS = ("http://localhost:8501", "http://127.0.0.1:8501", "http://localhost:8000", "http://127.0.0.1:8000")


class ConfigError(RuntimeError):
    """The configuration cannot start the app safely; the message names the variable."""


# The whole configuration; fields are UPPER_CASE like the environment variables they come from.
class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, env_ignore_empty=True)

    DATABASE_URL: str = f"sqlite:///{DATA_DIR / 'zhimian.db'}"
    SECRET_KEY: SecretStr = SecretStr("")
    SECRET_KEY_FILE: Path = DATA_DIR / ".secret_key"  # where demo mode keeps its generated key
    DEMO_MODE: bool = True
    AUTH_CONFIG: Path = DATA_DIR / "auth.yaml"
    INTERVIEWER_MODEL: str = ""
    INTERVIEWER_API_BASE: str | None = None
    INTERVIEWER_API_KEY: SecretStr | None = None
    INTERVIEWER_TIMEOUT: PositiveFloat = Field(30.0, description="seconds to the first token (connect included)")
    INTERVIEWER_STREAM_TIMEOUT: PositiveFloat = Field(20.0, description="seconds allowed between two tokens")
    INTERVIEWER_MIN_TOKENS_PER_S: PositiveFloat = Field(
        2.0, description="slowest generation accepted: a call may last TIMEOUT + max_tokens / this")
    INTERVIEWER_NUM_RETRIES: Annotated[int, Field(ge=0, le=5)] = 2
    INTERVIEWER_FALLBACKS: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="LiteLLM model strings tried in order when INTERVIEWER_MODEL fails (comma-separated)")
    INTERVIEWER_MAX_TOKENS: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_TOKENS),
        description="output-token cap per call kind, e.g. 'reply=200,grade=120,report=400' or one number for all")
    INTERVIEWER_MAX_REPLY_CHARS: PositiveInt = 600
    INTERVIEWER_DAILY_TOKENS: Annotated[int, Field(ge=0)] = 0  # per user and UTC day; 0 = no budget
    REPORT_RATE_LIMIT: str = "5/hour"  # report regenerations with a model, per user
    INTERVIEWER_FALLBACK: Literal["", "offline"] = ""
    ALLOWED_ORIGINS: Annotated[tuple[str, ...], NoDecode] = DEFAULT_ORIGINS
    DEFAULT_LANGUAGE: Literal["zh-CN", "en"] = "zh-CN"
    ALLOW_REGISTRATION: bool | None = None  # default: on in demo mode, off otherwise
    MAX_SESSIONS_PER_USER: PositiveInt = 200
    TURN_RATE_LIMIT: str = "30/minute"
    ACCESS_TOKEN_MINUTES: PositiveInt = 60 * 12
    STATS_INCLUDE_NAMES: bool = False
    REDIS_URL: str | None = Field(default=None, description="shared rate limits across workers and hosts")
    # PostgreSQL: API workers wake on LISTEN/NOTIFY when another process changes a watched session. Off only where
    # LISTEN cannot work (a PgBouncer in transaction mode); workers then rely on polling alone.
    LIVE_SYNC_LISTEN: bool = True
    LIVE_SYNC_FALLBACK_POLL_S: PositiveFloat = 3.0  # how often a listening worker still polls, for a lost NOTIFY

    @property
    def uses_llm(self) -> bool:
        return bool(self.INTERVIEWER_MODEL)

    @property
    def registration_open(self) -> bool:
        return self.DEMO_MODE if self.ALLOW_REGISTRATION is None else self.ALLOW_REGISTRATION

    def secret_key(self) -> str:
        return self.SECRET_KEY.get_secret_value()

    @field_validator("ALLOWED_ORIGINS", "INTERVIEWER_FALLBACKS", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """'a, b' → ('a', 'b'): the environment gives one string for a list."""
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("INTERVIEWER_MAX_TOKENS", mode="before")
    @classmethod
    def _max_tokens(cls, value: Any) -> Any:
        """'300' caps every kind; 'reply=200,report=500' sets some kinds, the others keep their defaults."""
        if isinstance(value, int | str) and str(value).strip().isdigit():
            return dict.fromkeys(DEFAULT_MAX_TOKENS, int(value))
        if isinstance(value, str):
            parts = dict(part.split("=", 1) if "=" in part else ("", part) for part in value.split(",") if part.strip())
            value = {key.strip(): number.strip() for key, number in parts.items()}
        if isinstance(value, dict):
            unknown = set(value) - set(DEFAULT_MAX_TOKENS)
            if unknown:
                raise ValueError(f"use a number or kind=number with kinds {', '.join(DEFAULT_MAX_TOKENS)}")
            try:
                tokens = {key: int(number) for key, number in value.items()}
            except ValueError:
                raise ValueError("token counts must be whole numbers") from None
            if any(number < 16 for number in tokens.values()):
                raise ValueError("each kind needs at least 16 tokens")
            return {**DEFAULT_MAX_TOKENS, **tokens}
        return value

    @field_validator("INTERVIEWER_FALLBACK", mode="before")
    @classmethod
    def _fallback(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("TURN_RATE_LIMIT", "REPORT_RATE_LIMIT")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("use the `limits` notation, e.g. 30/minute or 100/hour") from None
        return value

    @model_validator(mode="after")
    def _signing_key(self) -> Settings:
        key = self.SECRET_KEY.get_secret_value().strip()
        weak = key.lower() in PLACEHOLDER_SECRETS or len(key.encode()) < MIN_SECRET_BYTES
        if weak and not self.DEMO_MODE:
            raise ValueError(
                "SECRET_KEY is missing, a placeholder or shorter than 32 bytes; set a long random key (e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) or turn DEMO_MODE on")
        if weak:  # demo mode: a random key of this installation, never one from the source
            object.__setattr__(self, "SECRET_KEY", SecretStr(_demo_key(self.SECRET_KEY_FILE)))
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        env = _ENV.get()
        environment = env_settings if env is None else _MappingSource(settings_cls, env)
        return init_settings, environment, TomlConfigSettingsSource(settings_cls, toml_file=SECRETS_FILE)


# An explicit environment mapping (load_settings(env)) instead of os.environ.
_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("settings_env", default=None)


class _MappingSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.env.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name: self.env[name] for name in self.settings_cls.model_fields
                if self.env.get(name) not in (None, "")}


def _demo_key(path: Path) -> str:
    """This installation's demo signing key: generated once, kept (owner-readable only) in the data folder."""
    try:
        key = path.read_text(encoding="utf-8").strip()
        if len(key.encode()) >= MIN_SECRET_BYTES:
            return key
    except OSError:
        pass
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)  # first writer wins when several processes start together
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the environment), then secrets.toml, then defaults; ConfigError names the
    variable of a bad value."""
    token = _ENV.set(dict(env) if env is not None else None)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe(err) for err in exc.errors())) from None
    finally:
        _ENV.reset(token)


def _describe(err: Mapping[str, Any]) -> str:
    name = ".".join(str(part) for part in err.get("loc", ())) or "settings"
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    value = err.get("input")
    shown = "" if name == "settings" or "SECRET" in name or "KEY" in name else f" (got {value!r})"
    return f"{name}: {message}{shown}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
