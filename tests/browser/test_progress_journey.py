"""In Chromium: the progress page with its charts, a one-click drill from a missed point, the PDF report download."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from core.config import load_settings
from tests.browser.helpers import expect, log_in, settle
from tests.browser.server import app_env


@pytest.fixture(scope="module")
def practised(app_data) -> list[str]:
    """Three interviews played through the real service for `candidate` before the server starts."""
    from core import demo
    from core.db import dispose_engines, get_engine

    settings = load_settings(app_env(app_data)).model_copy(update={"INTERVIEWER_MODEL": ""})
    engine = get_engine(settings.DATABASE_URL)
    now, rng = datetime.now(UTC), random.Random(4)
    played = []
    for n in range(3):
        info = {"candidate_name": "李小明", "target_position": "Java后端开发工程师", "field": "后端开发",
                "level": "mid", "language": "zh-CN"}
        scenario = demo.Scenario(owner="candidate", info=info, skill=0.3 + 0.25 * n, outcome="complete",
                                 stop_after=9, start=now - timedelta(days=16 - 7 * n))
        played.append(demo.play(scenario, engine=engine, settings=settings, rng=rng, now=now))
    dispose_engines()
    return played


@pytest.fixture(scope="module")
def url(practised, app_url) -> str:
    return app_url


def test_progress_charts_and_a_one_click_drill(url, new_page, shot):
    page = new_page()
    log_in(page, url, "candidate", "candidate123")
    page.get_by_test_id("stSidebarNav").get_by_text("我的进步").click()
    expect()(page.get_by_role("heading", name="我的进步")).to_be_visible()
    settle(page)
    charts = page.get_by_test_id("stVegaLiteChart")
    expect()(charts).to_have_count(2)
    expect()(charts.first.locator("canvas, svg").first).to_be_visible()
    expect()(page.get_by_role("heading", name="最常漏掉的要点")).to_be_visible()
    shot(page, "progress-page")

    first_drill = page.get_by_role("link", name="练这道题").first
    first_drill.scroll_into_view_if_needed()
    shot(page, "progress-page-missed-points")
    href = first_drill.get_attribute("href") or ""
    question_id = re.search(r"question=([\w-]+)", href).group(1)
    first_drill.click()
    expect()(page).to_have_url(re.compile(rf"/drill\?.*question={question_id}"))
    settle(page)
    expect()(page.get_by_role("heading", name="题目练习").first).to_be_visible()
    expect()(page.locator(".st-key-zm_answer, .st-key-zm_drill_answer").first).to_be_visible()
    shot(page, "progress-drill-link")


def test_the_report_downloads_as_a_pdf(url, practised, new_page, shot):
    page = new_page()
    log_in(page, url, "candidate", "candidate123")
    page.goto(f"{url}/report?session={practised[-1]}")
    button = page.get_by_role("button", name="下载 PDF 报告")
    expect()(button).to_be_visible()
    settle(page)
    shot(page, "report-with-pdf-button")
    with page.expect_download(timeout=30_000) as download:
        button.click()
    path = download.value.path()
    assert download.value.suggested_filename == f"zhimian-report-{practised[-1][:8]}.pdf"
    data = open(path, "rb").read()
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    assert data.startswith(b"%PDF-") and "面试报告" in text and "逐题反馈" in text and "李小明" in text
