"""Browser helpers: Playwright's expect, waiting for the first runs, signing in through the form."""

from __future__ import annotations

from core.auth import COOKIE_NAME


def expect():
    """Playwright's expect, waiting as long as page actions do (20 s: a first load on a busy 2-core machine)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=20_000)
    return playwright_expect


def settle(page) -> None:
    """Let the first runs finish (the cookie manager's component reruns the script once it has loaded): a form
    submitted within those few hundred milliseconds can be dropped, which no person typing is fast enough for."""
    page.wait_for_function("() => document.querySelectorAll('.st-key-zm_login_username input').length === 1")
    page.wait_for_timeout(1000)


def log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    settle(page)
    page.locator(".st-key-zm_login_username input").fill(username)
    page.locator(".st-key-zm_login_password input").fill(password)
    page.locator(".st-key-zm_login_password input").press("Enter")
    expect()(page.locator(".st-key-zm_logout")).to_be_visible()
    wait_for_login_cookie(page)


def wait_for_login_cookie(page) -> None:
    """The re-login cookie is written by a small browser component a moment after the login run."""
    for _ in range(50):
        if any(cookie["name"] == COOKIE_NAME for cookie in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the login cookie was never set")
