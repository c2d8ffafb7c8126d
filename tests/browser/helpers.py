"""Browser helpers: Playwright's expect, waiting for a run to finish, signing in through the form."""

from __future__ import annotations

from core.auth import COOKIE_NAME


def expect():
    """Playwright's expect, waiting as long as page actions do (20 s: a first load on a busy 2-core machine)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=20_000)
    return playwright_expect


def settle(page) -> None:
    """Wait until the current run has drawn everything (no element is left over from the previous screen)."""
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")


# The login form has arrived down to its submit button (before that, Enter in a field submits nothing).
LOGIN_FORM_READY = """() => {
  const inputs = document.querySelectorAll('.st-key-zm_login_username input');
  const form = inputs.length === 1 && inputs[0].closest('[data-testid="stForm"]');
  return Boolean(form && form.querySelector('[data-testid="stFormSubmitButton"] button'));
}"""


def wait_for_login_form(page) -> None:
    page.wait_for_function(LOGIN_FORM_READY)
    settle(page)


def log_in(page, url: str, username: str, password: str) -> str:
    """Sign in through the form; returns the re-login cookie the browser now holds."""
    page.goto(url)
    wait_for_login_form(page)
    page.locator(".st-key-zm_login_username input").fill(username)
    page.locator(".st-key-zm_login_password input").fill(password)
    page.locator(".st-key-zm_login_password input").press("Enter")
    expect()(page.locator(".st-key-zm_logout")).to_be_visible()
    cookie = wait_for_login_cookie(page)
    settle(page)
    return cookie


def wait_for_login_cookie(page) -> str:
    """The re-login cookie, written by a script in the page during the login run."""
    for _ in range(50):
        for cookie in page.context.cookies():
            if cookie["name"] == COOKIE_NAME:
                return cookie["value"]
        page.wait_for_timeout(100)
    raise AssertionError("the login cookie was never set")
