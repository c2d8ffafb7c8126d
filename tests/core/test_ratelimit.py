"""core.ratelimit: turn limits and login caps in process memory, or in the real Redis with REDIS_URL."""

from __future__ import annotations

import pytest

from core import auth, ratelimit
from core.config import reset_settings

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture(params=["memory", "redis"])
def limit_store(request, app_env, monkeypatch):
    """The app's settings with counters in memory, then in Redis (under this test's own key prefix)."""
    if request.param == "redis":
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
        reset_settings()
    ratelimit.reset_limits()
    yield request.param
    ratelimit.reset_limits()


def forget_process_state() -> None:
    """What a restart (or another worker) starts from: no limiter objects, an empty memory store."""
    ratelimit._limiters.clear()
    ratelimit._memory.reset()


def test_turns_over_the_rate_are_refused_with_the_wait(limit_store):
    for _ in range(3):
        ratelimit.check_turn_rate("alice", "3/minute")
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check_turn_rate("alice", "3/minute")
    assert 1 <= refused.value.retry_after <= 60
    ratelimit.check_turn_rate("bob", "3/minute")  # another user has their own budget


def test_with_redis_login_caps_survive_a_restart_and_are_shared(limit_store):
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate("candidate", "wrong", client="10.0.0.1")
    forget_process_state()
    if limit_store == "redis":
        with pytest.raises(auth.TooManyAttempts):
            auth.authenticate("candidate", "candidate123", client="10.0.0.1")
    else:  # memory: documented as per process (multi-worker deployments need REDIS_URL)
        assert auth.authenticate("candidate", "candidate123", client="10.0.0.1").username == "candidate"


def test_changing_address_does_not_lift_the_account_cap(limit_store):
    for i in range(20):
        with pytest.raises(auth.AuthError):
            auth.authenticate("staff", "wrong", client=f"10.1.0.{i}")
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate("staff", "staff123", client="10.9.9.9")
    assert auth.authenticate("analyst", "analyst123", client="10.9.9.9").username == "analyst"


def test_registration_is_throttled_per_address(limit_store):
    def register(i: int, client: str) -> auth.AuthUser:
        return auth.register_account(first_name="新", last_name="人", email=f"u{i}@x.cn", username=f"user{i}",
                                     password="Newbie#2024", repeat_password="Newbie#2024", client=client)

    allowed = ratelimit.parse_rate(auth.REGISTRATIONS_PER_PEER).amount
    for i in range(allowed):
        register(i, "10.2.0.1")
    with pytest.raises(auth.RegistrationRefused, match="throttled"):
        register(allowed, "10.2.0.1")
    assert register(allowed + 1, "10.2.0.2").username == f"user{allowed + 1}"


def test_two_deployments_on_one_redis_never_share_counters():
    assert ratelimit.key_prefix("sqlite:///a.db") != ratelimit.key_prefix("sqlite:///b.db")


def test_an_unreachable_redis_fails_closed_with_a_clear_error(app_env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")
    reset_settings()
    with pytest.raises(ratelimit.LimitStoreUnavailable):
        ratelimit.check_turn_rate("alice", "3/minute")
