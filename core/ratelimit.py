"""Per-user limit on interview turns (settings.TURN_RATE_LIMIT), enforced by the turn service for every client:
a moving window from `limits`, kept in this process's memory."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)


class RateLimited(Exception):
    """The user sent turns faster than settings.TURN_RATE_LIMIT; one more may run in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"发送过于频繁，请 {retry_after} 秒后再试 / too many messages, retry in {retry_after} s")
        self.retry_after = retry_after


# Whether one more turn may run now, and if not, how many seconds until one may.
@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0


@lru_cache(maxsize=16)
def parse_rate(rate: str) -> RateLimitItem:
    """'30/minute' -> a limit; ValueError for text `limits` cannot read."""
    return parse(rate)


def hit_turn_limit(owner: str, rate: str) -> RateDecision:
    """Count one turn for `owner` against `rate` (e.g. settings.TURN_RATE_LIMIT)."""
    limit = parse_rate(rate)
    if _limiter.hit(limit, "turn", owner):
        return RateDecision(True)
    reset_time, _remaining = _limiter.get_window_stats(limit, "turn", owner)
    return RateDecision(False, max(1, math.ceil(reset_time - time.time())))


def check_turn_rate(owner: str, rate: str) -> None:
    """Count one turn for `owner`; RateLimited when it goes over `rate`."""
    decision = hit_turn_limit(owner, rate)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def check_report_rate(owner: str, rate: str) -> None:
    """Count one model report regeneration for `owner`; RateLimited when it goes over `rate`."""
    limit = parse_rate(rate)
    if not _limiter.hit(limit, "report", owner):
        reset_time, _remaining = _limiter.get_window_stats(limit, "report", owner)
        raise RateLimited(max(1, math.ceil(reset_time - time.time())))


def reset_turn_limits() -> None:
    """Forget every counted turn (tests)."""
    _storage.reset()
