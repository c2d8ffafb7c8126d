"""Browser fixtures: a real `streamlit run app.py` on a free port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import load_settings
from tests.browser.server import CHROMIUM, ROOT, app_env, launch_chromium, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"


@contextmanager
def server_keeping_its_log(data: Path) -> Iterator[str]:
    try:
        with streamlit_server(data) as url:
            yield url
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        log = data / "streamlit.log"
        if log.exists():
            (ARTIFACTS / "streamlit-server.log").write_bytes(log.read_bytes())


@pytest.fixture(scope="module")
def app_data(tmp_path_factory) -> Path:
    """The folder holding the module's server's SQLite file and accounts file."""
    return tmp_path_factory.mktemp("browser-app")


@pytest.fixture(scope="module")
def app_url(app_data) -> Iterator[str]:
    """A real Streamlit server on its own SQLite file and accounts file, offline interviewer, demo mode."""
    with server_keeping_its_log(app_data) as url:
        yield url


@pytest.fixture
def app_settings(app_data):
    """The settings that server runs with (its SECRET_KEY, its accounts file)."""
    return load_settings(app_env(app_data))


@pytest.fixture
def fresh_app_url(tmp_path) -> Iterator[str]:
    """A server that has not run the app yet: the next page load is its first run."""
    with server_keeping_its_log(tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(never `playwright install`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts (own cookies), closed after the test."""
    contexts = []

    def make(lang: str = "zh-CN", width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale=lang,
                                      timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    """Save a full-page screenshot under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
