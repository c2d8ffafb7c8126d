"""A real browser against `streamlit run app.py`: a new user's journey, a refused link, a removed account."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from core import auth
from tests.browser.helpers import expect, log_in, wait_for_login_form

pytestmark = pytest.mark.browser

USER, PASSWORD = "xiaoming", "Interview#2024"
ANSWERS = (
    "我叫李小明，有三年 React 前端开发经验，负责过电商后台和数据看板。",
    "虚拟 DOM 用 JS 对象描述界面，diff 之后只把变化批量更新到真实 DOM，减少重排和重绘。",
)
# Records every text length the last chat message goes through, to see a reply arrive in pieces.
WATCH_STREAM = """() => {
  window.__lengths = [];
  const observer = new MutationObserver(() => {
    const messages = document.querySelectorAll('[data-testid="stChatMessageContent"]');
    const last = messages[messages.length - 1];
    if (last) window.__lengths.push(last.innerText.length);
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def session_param(page) -> str | None:
    return (parse_qs(urlparse(page.url).query).get("session") or [None])[0]


def wait_for_session_param(page, different_from: str | None = None) -> str:
    page.wait_for_function(
        "old => { const s = new URLSearchParams(location.search).get('session'); return s && s !== old; }",
        arg=different_from or "",
    )
    return session_param(page)


def chat_messages(page):
    return page.get_by_test_id("stChatMessageContent")


def register(page, shot) -> None:
    page.get_by_role("tab", name="注册").click()
    form = page.get_by_test_id("stForm").filter(has_text="注册求职者账号")
    for label, value in (("名", "小明"), ("姓", "李"), ("邮箱", "xiaoming@example.com"), ("用户名", USER),
                         ("密码", PASSWORD), ("确认密码", PASSWORD)):
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="注册").click()
    expect()(page.get_by_text(f"注册成功！现在可以用 {USER} 登录。")).to_be_visible()
    shot(page, "02-registered")


def start_interview(page, position: str) -> str:
    before = session_param(page)
    page.locator(".st-key-zm_new_position input").fill(position)
    page.get_by_role("button", name="开始面试").click()
    session_id = wait_for_session_param(page, before)
    expect()(chat_messages(page).first).to_contain_text(position)
    return session_id


def answer(page, text: str) -> None:
    count = chat_messages(page).count()
    page.evaluate(WATCH_STREAM)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(text)
    box.press("Enter")
    expect()(chat_messages(page)).to_have_count(count + 2)  # the answer and the interviewer's reply
    expect()(chat_messages(page).nth(count)).to_have_text(text)
    wait_for_finished_reply(page)
    expect()(page.get_by_test_id("stChatInput").locator("textarea")).to_be_enabled()


def wait_for_finished_reply(page) -> None:
    """The interviewer's reply is complete once its text stops changing for half a second."""
    last = ""
    for _ in range(100):
        texts = chat_messages(page).all_inner_texts()
        current = texts[-1] if texts else ""
        if current and current == last:
            return
        last = current
        page.wait_for_timeout(500)
    raise AssertionError("the reply never finished")


def test_new_user_journey(app_url, app_settings, new_page, shot):
    page = new_page()
    page.goto(app_url)
    expect()(page.get_by_text("演示模式", exact=True)).to_be_visible()
    wait_for_login_form(page)
    shot(page, "01-login")
    register(page, shot)

    page.get_by_role("tab", name="登录").click()
    cookie = log_in(page, app_url, USER, PASSWORD)
    assert auth.decode_access_token(cookie, app_settings).username == USER  # the API's token, and the API's check
    expect()(page.get_by_role("heading", name="新建模拟面试")).to_be_visible()  # no session yet: the form
    expect()(page.locator(".st-key-zm_new_name input")).to_have_value("李小明")
    shot(page, "03-new-interview")

    first = start_interview(page, "React前端开发工程师")
    shot(page, "04-welcome")
    answer(page, ANSWERS[0])
    answer(page, ANSWERS[1])
    lengths = page.evaluate("window.__lengths")
    assert lengths, "the reply never appeared"
    history = chat_messages(page).all_inner_texts()
    assert len(history) == 5
    expect()(page.get_by_test_id("stProgress")).to_contain_text("/7")
    shot(page, "05-two-answers")

    page.reload()  # the same session comes back, with its history
    expect()(chat_messages(page)).to_have_count(5)
    assert chat_messages(page).all_inner_texts() == history
    assert session_param(page) == first
    shot(page, "06-after-reload")

    page.locator(".st-key-zm_new_interview button").first.click()
    expect()(page.get_by_role("heading", name="新建模拟面试")).to_be_visible()
    second = start_interview(page, "Python后端开发工程师")
    sidebar = page.get_by_test_id("stSidebar")
    expect()(sidebar.locator("[class*='st-key-zm_open_']")).to_have_count(2)
    expect()(sidebar).to_contain_text("今天")
    expect()(sidebar).to_contain_text("刚开始")

    page.locator(f".st-key-zm_open_{first} button").first.click()  # switch by clicking its card
    wait_for_session_param(page, second)
    assert session_param(page) == first
    expect()(chat_messages(page)).to_have_count(5)
    expect()(page.locator(".st-key-zm_card_active")).to_contain_text("React前端开发工程师")

    page.goto(f"{app_url}/?session={second}")  # another own session, by link
    expect()(page.get_by_role("heading", name="Python后端开发工程师")).to_be_visible()
    expect()(chat_messages(page)).to_have_count(1)
    assert session_param(page) == second
    expect()(page.locator(".st-key-zm_card_active")).to_contain_text("Python后端开发工程师")
    shot(page, "07-opened-by-link")

    page.locator(f".st-key-zm_del_{second} button").first.click()  # delete the open one, with confirmation
    dialog = page.get_by_role("dialog")
    expect()(dialog).to_contain_text("Python后端开发工程师")
    shot(page, "08-delete-dialog")
    dialog.get_by_role("button", name="删除").click()
    expect()(dialog).to_be_hidden()
    expect()(sidebar.locator("[class*='st-key-zm_open_']")).to_have_count(1)
    expect()(page.locator(f".st-key-zm_open_{second}")).to_have_count(0)
    wait_for_session_param(page, second)
    assert session_param(page) == first  # the next session by the restore order
    expect()(chat_messages(page)).to_have_count(5)
    shot(page, "09-after-delete")

    page.locator(".st-key-zm_logout button").first.click()
    expect()(page.locator(".st-key-zm_login_username input")).to_be_visible()
    shot(page, "10-logged-out")

    page.reload()  # the login cookie is gone too
    expect()(page.locator(".st-key-zm_login_username input")).to_be_visible()

    # Another user cannot open the first user's session by its link.
    other = new_page()
    log_in(other, app_url, "candidate", "candidate123")
    other.goto(f"{app_url}/?session={first}")
    expect()(other.get_by_test_id("stAlertContentWarning")).to_contain_text("不属于当前账号")
    expect()(other.get_by_role("heading", name="新建模拟面试")).to_be_visible()
    body = other.locator("body").inner_text()
    assert "React前端开发工程师" not in body and ANSWERS[0][:10] not in body
    assert session_param(other) != first
    shot(other, "11-foreign-link-refused")


def test_language_switch_to_english(app_url, new_page, shot):
    page = new_page()
    log_in(page, app_url, "staff", "staff123")
    expect()(page.get_by_test_id("stSidebarNav")).to_contain_text("数据分析")  # staff sees analytics
    page.locator(".st-key-zm_lang_widget").click()
    page.get_by_role("option", name="English").click()
    expect()(page.locator(".st-key-zm_new_interview")).to_contain_text("New interview")
    page.wait_for_url(re.compile(r"lang=en"))
    page.reload()
    expect()(page.locator(".st-key-zm_new_interview")).to_contain_text("New interview")
    expect()(page.get_by_role("heading", name="Practice analytics")).to_be_visible()  # staff land on analytics
    page.locator(".st-key-zm_new_interview button").first.click()
    expect()(page.get_by_role("heading", name="New mock interview")).to_be_visible()
    expect()(page.locator(".st-key-zm_new_position")).to_contain_text("Target position")
    shot(page, "12-english")


def test_end_interview_and_read_the_report(app_url, new_page, shot):
    page = new_page()
    log_in(page, app_url, "analyst", "analyst123")
    page.locator(".st-key-zm_new_interview button").first.click()  # analysts land on analytics
    start_interview(page, "数据分析师")
    answer(page, "我叫赵敏，做了两年数据分析，常用 SQL、Python 和 A/B 测试评估产品改动。")

    page.locator(".st-key-zm_end button").first.click()
    dialog = page.get_by_role("dialog")
    expect()(dialog).to_contain_text("确定现在结束面试吗")
    dialog.get_by_role("button", name="结束面试").click()
    expect()(page.get_by_text("本场面试已结束。")).to_be_visible()
    expect()(page.get_by_test_id("stChatInput")).to_have_count(0)
    shot(page, "13-interview-ended")

    page.get_by_role("link", name="查看面试报告").click()
    expect()(page.get_by_role("heading", name="面试报告")).to_be_visible()
    expect()(page.get_by_test_id("stMetric")).to_contain_text("综合得分")
    expect()(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    expect()(page.get_by_test_id("stDownloadButton")).to_have_count(3)  # Markdown, JSON, PDF
    page.get_by_test_id("stExpander").first.click()
    shot(page, "14-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 Markdown").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "数据分析师" in text and "综合得分" in text


def test_a_removed_account_is_signed_out(app_url, app_settings, new_page):
    password = "Removed#2024"
    auth.register_account(first_name="红", last_name="王", email="wanghong@example.com", username="wanghong",
                          password=password, repeat_password=password, settings=app_settings)
    reloading, clicking = new_page(), new_page()
    log_in(reloading, app_url, "wanghong", password)
    log_in(clicking, app_url, "wanghong", password)

    accounts = yaml.safe_load(app_settings.AUTH_CONFIG.read_text(encoding="utf-8"))
    del accounts["credentials"]["usernames"]["wanghong"]
    app_settings.AUTH_CONFIG.write_text(yaml.safe_dump(accounts, allow_unicode=True), encoding="utf-8")

    reloading.reload()  # the cookie no longer signs it in
    expect()(reloading.locator(".st-key-zm_login_username input")).to_be_visible()
    clicking.locator(".st-key-zm_new_interview button").first.click()  # the next run signs an open tab out
    expect()(clicking.locator(".st-key-zm_login_username input")).to_be_visible()
    for page in (reloading, clicking):
        expect()(page.locator(".st-key-zm_logout")).to_have_count(0)
