"""A real browser: upload a resume, correct what was understood, an interview that asks about the candidate's own
(corrected) project and its claimed number, and a report with the 简历声明核验 section."""

from __future__ import annotations

import pytest

from tests import resume_samples as rs
from tests.browser.helpers import expect, log_in
from tests.browser.test_journey import answer, chat_messages, wait_for_session_param

pytestmark = pytest.mark.browser

MEASURED = ("我们用 JMeter 在预发环境压测，改造前后同样 200 并发对比：原来单机 2000 QPS，改造后 6000 左右，"
            "所以是 3 倍。瓶颈是用火焰图和慢查询日志定位到的，在库存扣减的行锁上。")
GENERIC = ("我负责过下单链路的设计，先分析瓶颈，再用缓存和异步削峰，最后通过压测和监控验证效果，"
           "上线后接口延迟下降了一半。")


def test_upload_correct_interview_and_claims_report(app_url, new_page, shot):
    page = new_page()
    log_in(page, app_url, "candidate", "candidate123")
    expect()(page.get_by_role("heading", name="新建模拟面试")).to_be_visible()
    expect()(page.get_by_text("不会发送给任何模型")).to_be_visible()  # no model configured: said next to the upload

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "张三-简历.pdf", "mimeType": "application/pdf", "buffer": rs.pdf(rs.ZH_LINES)}])
    parsed = page.locator(".st-key-zm_resume_parsed")
    expect()(parsed).to_contain_text("我们从简历里读到的内容")
    name = parsed.locator("[class*='_0_name'] input")
    expect()(name).to_have_value("秒杀系统")
    expect()(parsed.locator("[class*='_0_claims'] textarea")).to_have_value(
        "使用 Redis 预扣库存、Kafka 异步下单，QPS 提升 3 倍\n接口 P99 延迟从 800ms 降到 120ms")
    shot(page, "resume-01-understood")

    name.fill("双十一秒杀系统")  # the candidate corrects a name before starting
    name.press("Tab")
    page.locator(".st-key-zm_new_position input").fill("Java后端开发工程师")
    page.get_by_role("button", name="开始面试").click()
    wait_for_session_param(page)
    expect()(chat_messages(page).first).to_contain_text("“双十一秒杀系统”和“智能推荐平台”")
    shot(page, "resume-02-welcome")

    for _ in range(30):  # answer until the interviewer asks how the claimed number was measured
        last = chat_messages(page).all_inner_texts()[-1]
        if "你在简历里写了双十一秒杀系统 QPS 提升 3 倍" in last:
            break
        answer(page, GENERIC)
    else:
        raise AssertionError("the interviewer never asked about the resume's claim")
    texts = chat_messages(page).all_inner_texts()
    assert any("我们聊聊你简历里的“双十一秒杀系统”" in t for t in texts)
    answer(page, MEASURED)
    shot(page, "resume-03-claim-probed")

    page.locator(".st-key-zm_end button").first.click()
    page.get_by_role("dialog").get_by_role("button", name="结束面试").click()
    expect()(page.get_by_text("本场面试已结束。")).to_be_visible()
    page.get_by_role("link", name="查看面试报告").click()
    expect()(page.get_by_role("heading", name="简历声明核验")).to_be_visible()
    main = page.get_by_test_id("stMain")
    expect()(main).to_contain_text("已核实")
    expect()(main).to_contain_text("QPS 提升 3 倍")
    expect()(main).to_contain_text("用 JMeter 在预发环境压测")
    expect()(main).to_contain_text("未能核实")  # the latency claim never came up
    page.get_by_role("heading", name="简历声明核验").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(shot(page, "resume-04-report").with_name("resume-05-claims.png")))
