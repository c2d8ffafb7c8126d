"""app.py under AppTest: login and roles, sidebar list, switching, deleting, restore order, chat, retry, report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml

from core import auth, sessions
from core.display import field_icon
from core.interviewer import turns
from core.models import InterviewSession, MessagePublic, utcnow
from tests.factories import add_exchange, make_session
from tests.pages.helpers import chat_texts, db_scope, login, nav_pages, new_app, ok, sidebar_cards, submit_login, texts


@pytest.fixture(autouse=True)
def fresh_throttle():
    auth.reset_login_failures()
    yield
    auth.reset_login_failures()


def start(owner: str = "candidate", **info) -> str:
    """A real interview through the interviewer service (welcome message included)."""
    data = {"candidate_name": "李小明", "target_position": "React前端开发工程师", "field": "前端开发", "level": "mid",
            "language": "zh-CN"} | info
    return turns.start_interview(owner=owner, info=data).session.id


def messages_of(session_id: str) -> list[MessagePublic]:
    with db_scope() as db:
        owner = db.get(InterviewSession, session_id).owner
        return sessions.get_history(db=db, owner=owner, session_id=session_id).messages


def open_id(at) -> str | None:
    return at.session_state["zm_session_id"]


# --- login, roles, language -------------------------------------------------------------------------------------


def test_login_page_shows_demo_accounts_and_notice(app_env):
    at = ok(new_app().run())

    notice = "\n".join(i.value for i in at.info)
    assert "演示模式" in notice
    for account in auth.DEMO_ACCOUNTS:
        assert account.username in notice and account.password in notice
    assert at.text_input(key="zm_login_username").label == "用户名"


def test_no_demo_notice_when_demo_mode_is_off(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("DEMO_MODE", "false")
    reset_settings()
    at = ok(new_app().run())

    assert "演示模式" not in texts(at)
    assert "candidate123" not in texts(at)
    assert not any(b.key.startswith("FormSubmitter:zm_register") for b in at.button)  # registration off too


def test_wrong_password_is_refused(app_env):
    at = ok(new_app().run())
    submit_login(at, "candidate", "not-the-password")

    assert at.session_state["zm_user"] is None
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    assert not sidebar_cards(at) and "zm_logout" not in [b.key for b in at.button]


def test_right_password_opens_the_app_and_logout_returns_to_login(app_env):
    at = login()

    assert at.session_state["zm_user"].roles == ("candidate",)
    assert at.session_state["zm_user"].name == "李小明"
    at.sidebar.button(key="zm_logout").click().run()
    ok(at)
    assert at.session_state["zm_user"] is None
    assert at.text_input(key="zm_login_username")
    assert "session" not in at.query_params


def cookie_script(at) -> str:
    """The body of the script that writes or deletes the re-login cookie, if this run rendered one."""
    return next((h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body), "")


def test_login_writes_the_apis_token_as_the_cookie_and_logout_deletes_it(app_env):
    at = login()
    written = re.search(rf"{auth.COOKIE_NAME}=([\w.-]+); Max-Age=(\d+)", cookie_script(at))
    assert written, cookie_script(at)
    assert auth.decode_access_token(written[1]).username == "candidate"  # what the API checks too
    assert int(written[2]) == auth.LOGIN_COOKIE_LIFETIME.total_seconds()

    at.sidebar.button(key="zm_logout").click().run()
    ok(at)
    assert f"{auth.COOKIE_NAME}=; Max-Age=0" in cookie_script(at)
    submit_login(at, "candidate", "candidate123")  # signing in again writes a new cookie
    assert "Max-Age=0" not in cookie_script(at) and at.session_state["zm_user"].username == "candidate"


def test_a_removed_account_is_signed_out_on_the_next_run(app_env):
    auth.register_account(first_name="红", last_name="王", email="h@example.com", username="hong",
                          password="Secret#2024", repeat_password="Secret#2024")
    at = login("hong", "Secret#2024")
    accounts = yaml.safe_load((app_env / "auth.yaml").read_text(encoding="utf-8"))
    del accounts["credentials"]["usernames"]["hong"]
    (app_env / "auth.yaml").write_text(yaml.safe_dump(accounts, allow_unicode=True), encoding="utf-8")

    ok(at.run())
    assert at.session_state["zm_user"] is None
    assert at.text_input(key="zm_login_username") and "Max-Age=0" in cookie_script(at)


def test_failed_logins_are_capped(app_env):
    at = ok(new_app().run())
    for _ in range(auth.LOGIN_FAILURE_LIMIT.amount):
        submit_login(at, "staff", "wrong-password")
    assert "15 分钟" in at.error[0].value

    submit_login(at, "staff", "staff123")  # right password, but the account is locked for now
    assert at.session_state["zm_user"] is None
    assert "15 分钟" in at.error[0].value


def test_registration_creates_a_candidate_account_that_can_log_in(app_env):
    at = ok(new_app().run())
    form = {t.label: t for t in at.text_input if t.form_id == "zm_register"}
    form["名"].input("小红")
    form["姓"].input("王")
    form["邮箱"].input("xiaohong@example.com")
    form["用户名"].input("xiaohong")
    form["密码"].input("Secret#2024")
    form["确认密码"].input("Secret#2024")
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_register")).click().run()
    ok(at)
    assert any("xiaohong" in s.value for s in at.success)

    stored = yaml.safe_load((app_env / "auth.yaml").read_text(encoding="utf-8"))
    assert stored["credentials"]["usernames"]["xiaohong"]["roles"] == ["candidate"]
    again = login("xiaohong", "Secret#2024")
    assert again.session_state["zm_user"].roles == ("candidate",)


def test_weak_registration_password_is_explained(app_env):
    at = ok(new_app().run())
    form = {t.label: t for t in at.text_input if t.form_id == "zm_register"}
    for label, value in (("名", "红"), ("姓", "王"), ("邮箱", "h@example.com"), ("用户名", "hong"), ("密码", "short"),
                         ("确认密码", "short")):
        form[label].input(value)
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_register")).click().run()
    ok(at)
    assert "密码强度不足" in at.error[0].value


def test_candidate_has_no_analytics_page_but_staff_and_analysts_do(app_env):
    assert "analytics" not in nav_pages(login())
    assert "analytics" in nav_pages(login("staff", "staff123"))
    assert "analytics" in nav_pages(login("analyst", "analyst123"))


def test_staff_opens_analytics_through_the_navigation(app_env):
    at = login("staff", "staff123")
    at.switch_page("app_pages/analytics.py").run()
    ok(at)
    assert not any("仅对" in e.value for e in at.error)  # not refused
    with pytest.raises(ValueError):  # a candidate's navigation has no such page at all
        login().switch_page("app_pages/analytics.py")


def test_english_is_selectable_and_kept_in_the_url(app_env):
    at = login()
    at.sidebar.selectbox(key="zm_lang_widget").select("en").run()
    ok(at)
    assert at.query_params["lang"] == "en"
    assert at.sidebar.button(key="zm_new_interview").label == "New interview"

    fresh = login(lang="en")  # a refresh keeps ?lang=en
    assert fresh.sidebar.button(key="zm_new_interview").label == "New interview"
    assert fresh.sidebar.button(key="zm_logout").label == "Sign out"


# --- sidebar ----------------------------------------------------------------------------------------------------


def test_sidebar_cards_show_status_counts_icons_and_groups(app_env):
    now = utcnow()
    with db_scope() as db:
        started = make_session(db, owner="candidate", target_position="数据分析师", field="数据分析")
        started.last_activity = now - timedelta(minutes=3)
        busy = make_session(db, owner="candidate", target_position="Java后端工程师", field="后端开发")
        add_exchange(db, busy, 4)
        busy.last_activity = now - timedelta(days=1)  # yesterday by the calendar at any time of day
        done = make_session(db, owner="candidate", target_position="React前端开发工程师")
        add_exchange(db, done, 5)
        done.is_complete, done.interview_stage = True, "completed"
        done.last_activity = now - timedelta(days=3)
        old = make_session(db, owner="candidate", target_position="产品经理", field="产品管理")
        old.last_activity = now - timedelta(days=40)
        make_session(db, owner="bob", target_position="别人的会话")
        for s in (started, busy, done, old):
            db.add(s)
        db.commit()
        ids = [s.id for s in (started, busy, done, old)]

    at = login()

    cards = sidebar_cards(at)
    assert list(cards) == ids  # newest activity first, only the user's own
    assert "别人的会话" not in texts(at)
    captions = [c.value for c in at.sidebar.caption]
    groups = [c for c in captions if c.strip("*") in ("今天", "昨天", "近7天", "更早")]
    assert groups == ["**今天**", "**昨天**", "**近7天**", "**更早**"]
    metas = [c for c in captions if "条消息" in c]
    assert "刚开始" in metas[0] and "1条消息" in metas[0] and "3分钟前" in metas[0]  # the welcome
    assert "进行中" in metas[1] and "9条消息" in metas[1] and ":blue-badge[" in metas[1]
    assert "已完成" in metas[2] and "11条消息" in metas[2] and ":green-badge[" in metas[2]
    icons = {b.key.removeprefix("zm_open_"): b.icon for b in at.sidebar.button if b.key.startswith("zm_open_")}
    fields = [("数据分析", "数据分析师"), ("后端开发", "Java后端工程师"), ("前端开发", "React前端开发工程师"),
              ("产品管理", "产品经理")]
    assert [icons[i] for i in ids] == [field_icon(f, p) for f, p in fields]
    assert icons[ids[2]] == ":material/code:"
    opened = open_id(at)  # the last created one (creating remembers it as the open session)
    assert opened == ids[3] and cards[opened] == "**产品经理**"  # the open session is highlighted
    assert all(not title.startswith("**") for sid, title in cards.items() if sid != opened)


def test_search_box_filters_long_lists(app_env):
    with db_scope() as db:
        for i in range(10):
            make_session(db, owner="candidate", target_position=f"前端岗位{i}")
        make_session(db, owner="candidate", target_position="数据科学家", field="数据分析")
    at = login()
    assert len(sidebar_cards(at)) == 11
    at.sidebar.text_input(key="zm_search").input("数据").run()
    ok(at)
    assert list(sidebar_cards(at).values()) == ["**数据科学家**"]


def test_long_lists_render_a_page_of_cards_and_show_more(app_env):
    with db_scope() as db:
        for i in range(45):
            make_session(db, owner="candidate", target_position=f"岗位{i:02d}")
    at = login()
    assert len(sidebar_cards(at)) == 30
    at.sidebar.button(key="zm_more").click().run()
    ok(at)
    assert len(sidebar_cards(at)) == 45


def test_clicking_a_card_switches_session_and_remembers_it(app_env):
    first = start(target_position="第一个岗位")
    second = start(target_position="第二个岗位")
    at = login()
    assert open_id(at) == second

    at.sidebar.button(key=f"zm_open_{first}").click().run()
    ok(at)
    assert open_id(at) == first
    assert at.query_params["session"] == first
    assert "第一个岗位" in at.subheader[0].value
    with db_scope() as db:
        assert sessions.last_open_session_id(db=db, owner="candidate") == first


def test_delete_asks_for_confirmation_and_cancel_keeps_the_session(app_env):
    keep = start(target_position="保留的会话")
    at = login()
    at.sidebar.button(key=f"zm_del_{keep}").click().run()
    ok(at)
    assert "保留的会话" in texts(at)  # the dialog names the session
    at.button(key="zm_delete_cancel").click().run()
    ok(at)

    assert keep in sidebar_cards(at)
    assert "zm_delete_confirm" not in [b.key for b in at.button]
    with db_scope() as db:
        assert sessions.count_sessions(db=db, owner="candidate") == 1


def test_confirmed_delete_removes_it_and_opens_the_next_session(app_env):
    older = start(target_position="较早的会话")
    newer = start(target_position="要删除的会话")
    at = login()
    assert open_id(at) == newer

    at.sidebar.button(key=f"zm_del_{newer}").click().run()
    at.button(key="zm_delete_confirm").click().run()
    ok(at)

    assert list(sidebar_cards(at)) == [older]
    assert open_id(at) == older and at.query_params["session"] == older
    assert not at.warning  # deleting the open session is not a rejected link
    with db_scope() as db:
        assert [s.session_id for s in sessions.list_session_summaries(db=db, owner="candidate")] == [older]


# --- restore order ------------------------------------------------------------------------------------------------


def test_session_link_opens_that_session(app_env):
    linked = start(target_position="链接打开的会话")
    start(target_position="最新的会话")
    at = login(session=linked)
    assert open_id(at) == linked
    assert "链接打开的会话" in at.subheader[0].value


@pytest.mark.parametrize("link", ["foreign", "unknown"])
def test_foreign_or_unknown_link_is_refused_with_a_notice(app_env, link):
    mine = start(target_position="我的会话")
    theirs = start(owner="staff", target_position="别人的秘密会话", job_description="机密职位描述")
    at = login(session=theirs if link == "foreign" else "00000000-0000-0000-0000-000000000000")

    assert open_id(at) == mine
    assert at.query_params["session"] == mine
    assert "不属于当前账号" in at.warning[0].value
    shown = texts(at) + "\n".join(text for _, text in chat_texts(at))
    assert "别人的秘密会话" not in shown and "机密职位描述" not in shown


def test_restore_prefers_last_open_then_newest(app_env):
    first = start(target_position="上次打开的")
    start(target_position="最新的")
    with db_scope() as db:
        sessions.open_session(db=db, owner="candidate", session_id=first)
    assert open_id(login()) == first

    with db_scope() as db:
        sessions.delete_session(db=db, owner="candidate", session_id=first)
    at = login()
    assert "最新的" in at.subheader[0].value


def test_no_sessions_shows_the_new_interview_form_and_creating_opens_the_welcome(app_env):
    at = login()
    assert open_id(at) is None
    assert at.text_input(key="zm_new_name").value == "李小明"  # prefilled from the account

    at.text_input(key="zm_new_position").input("Python后端工程师")
    at.selectbox(key="zm_new_field").select("backend")
    at.radio(key="zm_new_level").set_value("senior")
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_new_form")).click().run()
    ok(at)

    sid = open_id(at)
    assert sid and at.query_params["session"] == sid
    roles = [role for role, _ in chat_texts(at)]
    assert roles == ["assistant"]  # the interviewer's welcome, at once
    assert "Python后端工程师" in chat_texts(at)[0][1]
    with db_scope() as db:
        session = sessions.get_session(db=db, owner="candidate", session_id=sid)
        assert (session.field, session.level) == ("后端开发", "senior")


def test_new_interview_validation_error_is_shown(app_env):
    at = login()
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_new_form")).click().run()  # no position
    ok(at)
    assert at.error[0].value == "请填写目标岗位。"
    assert open_id(at) is None

    at.text_input(key="zm_new_position").input("产品经理")
    at.selectbox(key="zm_new_field").select("other")  # "other" with nothing typed falls back to 通用
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_new_form")).click().run()
    ok(at)
    with db_scope() as db:
        assert sessions.get_session(db=db, owner="candidate", session_id=open_id(at)).field == "通用"


def test_session_limit_is_explained(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("MAX_SESSIONS_PER_USER", "1")
    reset_settings()
    start()
    at = login()
    at.sidebar.button(key="zm_new_interview").click().run()
    ok(at)
    at.text_input(key="zm_new_position").input("第二个岗位")
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_new_form")).click().run()
    ok(at)
    assert "会话数量已达上限" in at.error[0].value


# --- chat ---------------------------------------------------------------------------------------------------------


def test_answer_streams_a_reply_that_is_stored(app_env):
    sid = start()
    at = login()
    assert "自我介绍" in at.get("progress")[0].proto.text  # stage indicator

    at.chat_input(key="zm_chat_input").set_value("我叫李小明，三年前端经验，主要用 React 和 TypeScript。").run()
    ok(at)

    stored = messages_of(sid)
    assert [m.role for m in stored] == ["assistant", "user", "assistant"]
    shown = chat_texts(at)
    assert shown[-1] == ("assistant", stored[-1].content)
    assert shown[-2][1].startswith("我叫李小明")
    assert not at.error


def test_answers_over_the_turn_rate_get_a_friendly_message(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("TURN_RATE_LIMIT", "1/minute")  # the API's limit: the chat page counts against it too
    reset_settings()
    sid = start()
    at = login()
    at.chat_input(key="zm_chat_input").set_value("我叫李小明，三年前端经验。").run()
    at.chat_input(key="zm_chat_input").set_value("我还做过首屏性能优化。").run()
    ok(at)

    assert at.warning and "回答发送得太频繁了" in at.warning[0].value and "秒后再发送" in at.warning[0].value
    assert not at.error and not at.chat_input(key="zm_chat_input").proto.disabled
    assert [m.role for m in messages_of(sid)] == ["assistant", "user", "assistant"]  # the second was not stored


def test_llm_failure_shows_error_and_retry_gives_exactly_one_reply(app_env, llm_env):
    from core.config import reset_settings

    reset_settings()
    sid = start()
    at = login()
    llm_env.fail_next("500", times=10)
    at.chat_input(key="zm_chat_input").set_value("我做过一个电商后台项目。").run()
    ok(at)

    assert at.error and "AI 面试官暂时无法回复" in at.error[0].value
    assert [m.role for m in messages_of(sid)] == ["assistant", "user"]  # the answer is kept, no reply yet
    assert at.chat_input(key="zm_chat_input").proto.disabled

    llm_env.reset()
    at.button(key="zm_retry").click().run()
    ok(at)

    stored = messages_of(sid)
    assert [m.role for m in stored] == ["assistant", "user", "assistant"]
    assert stored[-1].content and chat_texts(at)[-1][1] == stored[-1].content  # the fake's "这是模拟回复。" asks
    assert not at.error and "zm_retry" not in [b.key for b in at.button]   # nothing: the built-in phrasing stands in
    assert [role for role, _ in chat_texts(at)] == ["assistant", "user", "assistant"]


def test_unanswered_answer_after_a_refresh_offers_retry(app_env):
    sid = start()
    with db_scope() as db:
        session = sessions.get_session(db=db, owner="candidate", session_id=sid)
        sessions.add_message(db=db, session=session, role="user", content="刷新前发出的回答", client_message_id="c-1")
        db.commit()
    at = login()
    assert "还没有收到回复" in at.info[0].value
    at.button(key="zm_retry").click().run()
    ok(at)
    stored = messages_of(sid)
    assert [m.role for m in stored] == ["assistant", "user", "assistant"]
    assert [m.client_message_id for m in stored if m.role == "user"] == ["c-1"]


def test_incomplete_reply_is_marked_interrupted(app_env):
    sid = start()
    with db_scope() as db:
        session = sessions.get_session(db=db, owner="candidate", session_id=sid)
        sessions.add_message(db=db, session=session, role="user", content="回答", client_message_id="c-1")
        sessions.add_message(db=db, session=session, role="assistant", content="半截回复", status="incomplete")
        db.commit()
    at = login()
    interrupted = at.chat_message[-1]
    assert interrupted.markdown[0].value == "半截回复"
    assert "已中断" in interrupted.caption[0].value


def test_end_interview_with_confirmation_then_report_link(app_env):
    sid = start()
    at = login()
    at.button(key="zm_end").click().run()
    ok(at)
    at.button(key="zm_end_cancel").click().run()
    ok(at)
    with db_scope() as db:
        assert not sessions.get_session(db=db, owner="candidate", session_id=sid).is_complete

    at.button(key="zm_end").click().run()
    at.button(key="zm_end_confirm").click().run()
    ok(at)
    with db_scope() as db:
        assert sessions.get_session(db=db, owner="candidate", session_id=sid).is_complete
    assert not at.chat_input  # the input is replaced by the report link
    assert "本场面试已结束" in at.success[0].value
    links = at.get("page_link")
    assert links and "查看面试报告" in links[0].proto.label


# --- report -------------------------------------------------------------------------------------------------------


def completed_interview() -> str:
    sid = start()
    for i, answer in enumerate(["我叫李小明，做了三年 React 前端开发。", "虚拟 DOM 通过 diff 算法减少真实 DOM 操作。"]):
        for _ in turns.run_turn(owner="candidate", session_id=sid, content=answer, client_message_id=f"a{i}"):
            pass
    turns.end_interview(owner="candidate", session_id=sid)
    return sid


def test_report_page_shows_score_dimensions_feedback_and_downloads(app_env):
    sid = completed_interview()
    report = turns.get_report(owner="candidate", session_id=sid)
    assert report is not None
    at = login()
    at.switch_page("app_pages/report.py").run()
    ok(at)

    assert at.title[0].value == "面试报告"
    assert at.metric[0].label == "综合得分" and at.metric[0].value == f"{report.overall}/100"
    assert at.get("vega_lite_chart")
    shown = texts(at)
    assert "优势" in shown and "改进建议" in shown and "逐题反馈" in shown
    assert len(at.expander) == len(report.per_question)
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["下载 PDF 报告", "下载 Markdown", "下载 JSON"]
    assert "zm_report_regenerate" in [b.key for b in at.button]

    at.button(key="zm_report_regenerate").click().run()
    ok(at)
    assert at.metric[0].label == "综合得分"


def test_report_page_shows_each_point_with_the_candidates_words_and_the_correction(app_env):
    sid = completed_interview()
    with db_scope() as db:
        from core.models import Report

        stored = db.get(Report, sid)
        answer = "虚拟 DOM 通过 diff 算法减少真实 DOM 操作。"
        item = {**stored.per_question[-1], "answer": answer, "evidence": [answer],
                "covered": [{"point": "减少直接操作 DOM", "evidence": [answer]}], "unclear": ["批量更新"],
                "missed": ["key 的作用"],
                "misconception": {"claim": "虚拟 DOM 一定比直接操作 DOM 快", "evidence": answer,
                                  "correction": "虚拟 DOM 多了一层 diff 开销，好处是批量更新，并不总是更快。"}}
        stored.per_question = [*stored.per_question[:-1], item]
        db.add(stored)
        db.commit()
    at = login()
    at.switch_page("app_pages/report.py").run()
    ok(at)
    shown = texts(at)
    assert "讲到的要点" in shown and "减少直接操作 DOM" in shown
    assert "“虚拟 DOM 通过 diff 算法减少真实 DOM 操作。”" in shown
    assert "没讲清楚的要点" in shown and "批量更新" in shown and "遗漏要点" in shown and "key 的作用" in shown
    warning = at.warning[0].value
    assert "需要纠正的说法" in warning and "并不总是更快" in warning


def test_report_page_for_an_unfinished_interview_links_back(app_env):
    start()
    at = login()
    at.switch_page("app_pages/report.py").run()
    ok(at)
    assert "面试尚未结束" in at.info[0].value
    assert "返回面试" in at.get("page_link")[0].proto.label


def test_missing_report_can_be_generated(app_env):
    sid = completed_interview()
    with db_scope() as db:
        from core.models import Report

        db.delete(db.get(Report, sid))
        db.commit()
    at = login()
    at.switch_page("app_pages/report.py").run()
    ok(at)
    assert "报告尚未生成" in at.info[0].value
    at.button(key="zm_report_generate").click().run()
    ok(at)
    assert at.metric and at.metric[0].label == "综合得分"
