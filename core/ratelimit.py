"""Rate limits and caps shared by every client (turns, logins, registrations): moving windows from `limits`.

Without REDIS_URL the counters live in this process's memory: right for one worker, but each worker of a
multi-worker deployment then counts on its own and a restart forgets them. With REDIS_URL they live in Redis
(the `limits` library's Redis storage), shared by every worker and host and kept across restarts. Keys carry a
prefix derived from DATABASE_URL, so deployments (or test runs) that share one Redis never share counters.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.config import get_settings


class RateLimited(Exception):
    """The user sent turns faster than settings.TURN_RATE_LIMIT; one more may run in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"发送过于频繁，请 {retry_after} 秒后再试 / too many messages, retry in {retry_after} s")
        self.retry_after = retry_after


class LimitStoreUnavailable(RuntimeError):
    """REDIS_URL is set but Redis cannot be reached: limits fail closed rather than stop counting."""

    def __init__(self) -> None:
        super().__init__("限流服务暂不可用，请稍后重试 / the rate-limit store is unavailable, please retry shortly")


# Whether one more action may run now, and if not, how many seconds until one may.
@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0


@lru_cache(maxsize=16)
def parse_rate(rate: str) -> RateLimitItem:
    """'30/minute' -> a limit; ValueError for text `limits` cannot read."""
    return parse(rate)


_memory = MemoryStorage()
_limiters: dict[str, MovingWindowRateLimiter] = {}
_limiters_lock = threading.Lock()


def key_prefix(database_url: str) -> str:
    """The Redis key prefix of one deployment: its counters never mix with another's on a shared Redis."""
    return "zhimian:" + hashlib.sha256(database_url.encode()).hexdigest()[:16]


def _store_name() -> str:
    settings = get_settings()
    return f"{settings.REDIS_URL}#{key_prefix(settings.DATABASE_URL)}" if settings.REDIS_URL else "memory"


def limiter() -> MovingWindowRateLimiter:
    """The limiter for the current settings (memory, or Redis with REDIS_URL), created once per store."""
    name = _store_name()
    found = _limiters.get(name)
    if found is None:
        with _limiters_lock:
            found = _limiters.get(name)
            if found is None:
                settings = get_settings()
                storage = _memory if name == "memory" else storage_from_string(
                    settings.REDIS_URL, key_prefix=key_prefix(settings.DATABASE_URL), wrap_exceptions=True)
                found = _limiters[name] = MovingWindowRateLimiter(storage)
    return found


def hit(rate: str | RateLimitItem, *keys: str) -> RateDecision:
    """Count one action under `keys` against `rate`; refused (with the wait) when it would go over."""
    limit = parse_rate(rate) if isinstance(rate, str) else rate
    try:
        if limiter().hit(limit, *keys):
            return RateDecision(True)
        reset_time, _remaining = limiter().get_window_stats(limit, *keys)
    except StorageError as exc:
        raise LimitStoreUnavailable() from exc
    return RateDecision(False, max(1, math.ceil(reset_time - time.time())))


def allowed(rate: str | RateLimitItem, *keys: str) -> bool:
    """Whether one more action under `keys` would stay within `rate` (counts nothing)."""
    limit = parse_rate(rate) if isinstance(rate, str) else rate
    try:
        return limiter().test(limit, *keys)
    except StorageError as exc:
        raise LimitStoreUnavailable() from exc


def retry_after(rate: str | RateLimitItem, *keys: str) -> int:
    """Seconds until one more action under `keys` fits in `rate` (at least 1)."""
    limit = parse_rate(rate) if isinstance(rate, str) else rate
    try:
        reset_time, _remaining = limiter().get_window_stats(limit, *keys)
    except StorageError as exc:
        raise LimitStoreUnavailable() from exc
    return max(1, math.ceil(reset_time - time.time()))


def hit_turn_limit(owner: str, rate: str) -> RateDecision:
    """Count one turn for `owner` against `rate` (e.g. settings.TURN_RATE_LIMIT)."""
    return hit(rate, "turn", owner)


def check_turn_rate(owner: str, rate: str) -> None:
    """Count one turn for `owner`; RateLimited when it goes over `rate`."""
    decision = hit_turn_limit(owner, rate)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def check_report_rate(owner: str, rate: str) -> None:
    """Count one model report regeneration for `owner`; RateLimited when it goes over `rate`."""
    decision = hit(rate, "report", owner)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def reset_limits() -> None:
    """Forget every counter of the current store (tests; on Redis only this deployment's prefix)."""
    _memory.reset()
    if get_settings().REDIS_URL:
        limiter().storage.reset()


def reset_turn_limits() -> None:
    """Forget every counted turn (tests)."""
    reset_limits()
