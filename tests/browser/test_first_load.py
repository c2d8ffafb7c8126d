"""A server's very first page load: the sidebar only ever lists our own pages, never a helper module."""

from __future__ import annotations

import pytest

from core.i18n import t
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

HELPER_NAMES = {"app", "common", "forms", "login", "sidebar"}
OUR_PAGES = {t(f"nav.{page}", "zh-CN") for page in ("chat", "new", "report", "drill", "progress", "analytics")}
# Records every label the sidebar navigation ever shows, from before the app's first script run.
RECORD_NAV = """(() => {
  window.__navLabels = new Set();
  const record = () => document.querySelectorAll('[data-testid="stSidebarNav"] a').forEach(
    (link) => window.__navLabels.add(link.innerText.trim().split("\\n").pop()));  // the label, not the icon
  new MutationObserver(record).observe(document, {subtree: true, childList: true, characterData: true});
})();"""


def test_first_load_of_a_fresh_server_lists_only_our_pages(fresh_app_url, new_page, shot):
    page = new_page()
    page.context.add_init_script(RECORD_NAV)
    log_in(page, fresh_app_url, "staff", "staff123")  # the login screen has no navigation; staff sees every page
    expect()(page.get_by_test_id("stSidebarNav")).to_contain_text("数据分析")
    expect()(page.get_by_test_id("stDownloadButton")).to_have_count(3)  # staff's landing page has loaded to its end
    shot(page, "00-first-load-signed-in")

    seen = set(page.evaluate("[...window.__navLabels]"))
    assert seen == OUR_PAGES, seen
    assert not seen & HELPER_NAMES
