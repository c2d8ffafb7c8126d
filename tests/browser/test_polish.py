"""Issue 15's walk-through in Chromium at 1400×900: the finished chat, where each role lands, the sidebar cards and the
notice for a refused link, in Chinese and in English."""

from __future__ import annotations

import itertools
import re

import pytest

from core import auth
from core.db import get_engine
from core.i18n import t
from core.interviewer import turns
from tests.browser.helpers import expect, log_in, settle

pytestmark = pytest.mark.browser

PASSWORD = "Polish#2024"
ANSWER = "我在上一家公司负责订单系统，用 Java 和 Spring Boot 做过重构，把接口的平均响应时间从 800 毫秒降到了 200 毫秒。"
_ids = itertools.count(1)


@pytest.fixture
def page_1400(browser):
    """A page at 1400×900 in its own context (own cookies)."""
    contexts = []

    def make(lang: str = "zh-CN"):
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale=lang,
                                      timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def account(app_url, app_settings):
    """A fresh candidate account on the module's server (each test its own sessions)."""
    username = f"polish{next(_ids)}"
    auth.register_account(first_name="小明", last_name="李", email=f"{username}@example.com", username=username,
                          password=PASSWORD, repeat_password=PASSWORD, settings=app_settings)
    return username


def seed_interview(settings, owner: str, position: str, *, answers: int, level: str = "mid",
                   language: str = "zh-CN", end: bool = False, until_stage: str | None = None) -> str:
    """An interview written through the real services, as the app would have stored it: `answers` answers, or
    as many as it takes to reach `until_stage`."""
    engine = get_engine(settings.DATABASE_URL)
    info = {"candidate_name": "李小明", "target_position": position, "field": "", "level": level, "language": language}
    session_id = turns.start_interview(owner=owner, info=info, engine=engine, settings=settings).session.id
    for _ in range(60 if until_stage else answers):
        *_, result = turns.run_turn(owner=owner, session_id=session_id, content=ANSWER, engine=engine,
                                    settings=settings, rate_limit=False)
        if result.interview_stage == until_stage:
            break
    if end:
        turns.end_interview(owner=owner, session_id=session_id, engine=engine, settings=settings)
    return session_id


def open_app(page, app_url: str, username: str, password: str, lang: str) -> None:
    log_in(page, f"{app_url}/?lang={lang}", username, password)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_finished_chat_opens_at_its_end_and_offers_the_report_at_the_top(app_url, app_settings, account, page_1400,
                                                                        shot, lang):
    seed_interview(app_settings, account, "Java后端开发工程师", answers=8)
    page = page_1400(lang)
    open_app(page, app_url, account, PASSWORD, lang)
    messages = page.get_by_test_id("stChatMessageContent")
    expect()(messages.nth(16)).to_be_visible()  # a long chat: welcome and eight exchanges

    page.locator(".st-key-zm_end button").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=t("chat.end_confirm", lang)).click()
    expect()(dialog).to_be_hidden()
    end_link = page.get_by_role("link", name=t("chat.view_report", lang))
    expect()(end_link).to_be_in_viewport()  # just finished: the closing words and the report link are in view
    expect()(messages.last).to_be_in_viewport()
    shot(page, f"polish-1-just-finished-{lang}")

    page.reload()  # reopening the finished chat: the call to action is the first thing in view
    top_button = page.locator(".st-key-zm_report_top button")
    expect()(top_button).to_have_text(re.compile(t("chat.report_cta", lang)))
    expect()(top_button).to_be_in_viewport()
    expect()(page.locator(".st-key-zm_report_cta")).to_contain_text(t("chat.report_ready", lang))
    expect()(end_link).to_have_count(1)  # the one at the end stays
    shot(page, f"polish-1-reopened-{lang}")

    top_button.click()
    expect()(page.get_by_role("heading", name=t("report.title", lang))).to_be_visible()


def test_answering_the_last_question_shows_the_end_and_the_report(app_url, app_settings, account, page_1400, shot):
    seed_interview(app_settings, account, "Java后端开发工程师", answers=0, until_stage="wrap_up")
    page = page_1400()
    open_app(page, app_url, account, PASSWORD, "zh-CN")
    messages = page.get_by_test_id("stChatMessageContent")
    expect()(messages.nth(16)).to_be_visible()
    page.evaluate("() => document.querySelector('main.stMain').scrollTo(0, 0)")  # reading back up

    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill("没有其他问题了，谢谢您今天的时间。")
    box.press("Enter")
    end_link = page.get_by_role("link", name=t("chat.view_report", "zh-CN"))
    expect()(end_link).to_be_in_viewport()
    expect()(page.get_by_test_id("stChatInput")).to_have_count(0)
    expect()(page.locator(".st-key-zm_report_top button")).to_have_count(1)
    shot(page, "polish-1-last-answer-zh-CN")


@pytest.mark.parametrize(("username", "lang"), [("staff", "zh-CN"), ("analyst", "en")])
def test_staff_and_analysts_land_on_analytics(app_url, app_settings, page_1400, shot, username, lang):
    own = seed_interview(app_settings, username, "数据分析师", answers=1)
    page = page_1400(lang)
    open_app(page, app_url, username, f"{username}123", lang)
    heading = page.get_by_role("heading", name=t("analytics.title", lang))
    expect()(heading).to_be_visible()
    assert "session=" not in page.url
    expect()(page.get_by_test_id("stDownloadButton")).to_have_count(3)  # drawn down to the exports
    settle(page)
    shot(page, f"polish-2-landing-{username}-{lang}")

    page.reload()  # a reload stays on the analytics page
    expect()(heading).to_be_visible()

    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=t("nav.chat", lang), exact=True).click()  # their own interview is one click away
    expect()(page.get_by_test_id("stChatMessageContent").first).to_contain_text("数据分析师")
    nav.get_by_role("link", name=t("nav.analytics", lang), exact=True).click()  # and back: no bounce to the chat
    expect()(heading).to_be_visible()
    page.wait_for_timeout(1500)
    expect()(heading).to_be_visible()

    page.goto(f"{app_url}/?session={own}&lang={lang}")  # a link to one of their sessions opens its chat
    expect()(page.get_by_test_id("stChatMessageContent").first).to_contain_text("数据分析师")
    expect()(heading).to_have_count(0)


def test_candidates_keep_landing_on_their_last_interview(app_url, app_settings, account, page_1400):
    seed_interview(app_settings, account, "前端开发工程师", answers=1)
    page = page_1400()
    open_app(page, app_url, account, PASSWORD, "zh-CN")
    expect()(page.get_by_test_id("stChatMessageContent").first).to_contain_text("前端开发工程师")
    expect()(page.get_by_test_id("stSidebarNav")).not_to_contain_text("数据分析")


# Height of each card's title row and meta line, and whether the delete button shares the title's row.
CARD_GEOMETRY = """() => [...document.querySelectorAll('[data-testid="stSidebar"] [class*="st-key-zm_card_"]')]
  .map((card) => {
    const title = card.querySelector('[class*="st-key-zm_open_"] button p');
    const del = card.querySelector('[class*="st-key-zm_del_"] button').getBoundingClientRect();
    const meta = card.querySelector('[data-testid="stCaptionContainer"]');
    const row = card.querySelector('[class*="st-key-zm_open_"] button').getBoundingClientRect();
    const line = parseFloat(getComputedStyle(meta).lineHeight) || 21;
    return {title: title.getBoundingClientRect().height, meta: meta.getBoundingClientRect().height, line,
            sameRow: Math.abs((del.top + del.bottom) / 2 - (row.top + row.bottom) / 2) < 8,
            text: meta.innerText};
  })"""


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_cards_keep_one_line_each_and_tell_twins_apart(app_url, app_settings, account, page_1400, shot, lang):
    long_title = "Senior Product Manager for International Growth and Monetisation"
    seed_interview(app_settings, account, long_title, answers=1, language="en")
    seed_interview(app_settings, account, "Java后端开发工程师", answers=2, level="senior")
    seed_interview(app_settings, account, "Java后端开发工程师", answers=0, level="mid")
    page = page_1400(lang)
    open_app(page, app_url, account, PASSWORD, lang)
    sidebar = page.get_by_test_id("stSidebar")
    expect()(sidebar.locator("[class*='st-key-zm_open_']")).to_have_count(3)
    page.wait_for_timeout(500)

    cards = page.evaluate(CARD_GEOMETRY)
    assert len(cards) == 3
    for card in cards:
        assert card["title"] < 1.6 * card["line"], card  # one line, however long the title
        assert card["meta"] < 1.6 * card["line"], card  # one line: nothing wraps ("前" alone on a line)
        assert card["sameRow"], card  # the delete button stays beside the title
    twins = [card["text"] for card in cards if t("level.senior", lang) in card["text"]
             or t("level.mid", lang) in card["text"]]
    assert len(twins) == 2 and twins[0] != twins[1]  # the two Java cards say which is which

    delete_name = t("sidebar.delete", lang)
    expect()(sidebar.get_by_role("button", name=delete_name, exact=True)).to_have_count(3)
    expect()(sidebar.get_by_role("button", name="delete icon")).to_have_count(0)

    sidebar.locator("[class*='st-key-zm_open_'] button").filter(has_text="Senior Product").first.hover()
    expect()(page.get_by_test_id("stTooltipContent")).to_contain_text(long_title)  # the full title on hover
    shot(page, f"polish-4-cards-{lang}")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_refused_link_notice_is_shown_where_the_long_chat_is_read(app_url, app_settings, account, page_1400, shot,
                                                                  lang):
    seed_interview(app_settings, account, "Java后端开发工程师", answers=8)
    foreign = seed_interview(app_settings, "candidate", "别人的会话", answers=0)
    page = page_1400(lang)
    open_app(page, app_url, account, PASSWORD, lang)
    expect()(page.get_by_test_id("stChatMessageContent").nth(16)).to_be_visible()

    page.goto(f"{app_url}/?session={foreign}&lang={lang}")
    notice = page.get_by_test_id("stAlertContentWarning")
    expect()(notice).to_contain_text(t("app.session_rejected", lang))
    expect()(page.get_by_test_id("stChatMessageContent").nth(16)).to_be_visible()
    page.wait_for_timeout(1000)  # the chat has scrolled to its end, where the answer is typed
    expect()(notice).to_be_in_viewport()
    box = notice.bounding_box()
    chat_input = page.get_by_test_id("stChatInput").bounding_box()
    assert box["y"] + box["height"] <= chat_input["y"] + 1  # right above the chat input
    assert "别人的会话" not in page.locator("body").inner_text()
    shot(page, f"polish-5-refused-link-{lang}")
