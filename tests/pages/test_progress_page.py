"""The My progress page under AppTest: empty state, scores and weekly practice, missed points with drill links."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from core import demo, drills
from core.config import get_settings
from core.db import get_engine
from tests.pages.helpers import login, nav_paths, ok, page_links, texts

PAGE = "app_pages/progress.py"
# Covers 原子性, 隔离性 and 持久性 of backend-zh-003 (ACID) and never mentions 一致性.
GOOD_ACID = ("原子性是说一个事务里的操作要么全做完要么全不做，失败了会用 undo log 回滚。"
             "隔离性是并发事务之间互相看不到对方没提交的修改，InnoDB 靠锁和 MVCC 做到。"
             "持久性就是提交之后哪怕机器宕机数据也还在，因为 redo log 已经刷盘了。")


def practise(owner: str = "candidate", interviews: int = 2) -> None:
    """Interviews played through the real service (offline interviewer) over the last weeks, and one drill."""
    settings = get_settings().model_copy(update={"INTERVIEWER_MODEL": ""})
    now, rng = datetime.now(UTC), random.Random(8)
    for n in range(interviews):
        info = {"candidate_name": "李小明", "target_position": "Java后端开发工程师", "field": "后端开发",
                "level": "mid", "language": "zh-CN"}
        scenario = demo.Scenario(owner=owner, info=info, skill=0.3 + 0.3 * n, outcome="complete", stop_after=9,
                                 start=now - timedelta(days=15 - 7 * n))
        demo.play(scenario, engine=get_engine(), settings=settings, rng=rng, now=now)
    drills.evaluate(owner=owner, question_id="backend-zh-003", answer=GOOD_ACID)


def progress_page(username: str = "candidate", password: str = "candidate123", **query: str):
    at = login(username, password, **query)
    at.switch_page(PAGE).run()
    return ok(at)


def test_every_user_has_the_page_and_a_new_one_sees_where_to_start(app_env):
    assert "progress" in nav_paths(login())
    at = progress_page("staff", "staff123")
    assert "progress" in nav_paths(at)
    assert "还没有练习记录" in at.info[0].value
    assert {page for _, page, _ in page_links(at)} >= {"new_interview", "drill"}
    assert not at.get("vega_lite_chart") and not at.metric


def test_scores_weekly_practice_and_missed_points_with_one_click_drills(app_env):
    practise()
    at = progress_page()
    assert at.title[0].value == "我的进步"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["完成面试"] == "2" and metrics["单题练习"] == "1"
    assert metrics["最近一次得分"].endswith("/100")
    assert len(at.get("vega_lite_chart")) == 2  # scores over time, practice per week
    averages = next(cap.value for cap in at.caption if cap.value.startswith("最近 2 场各维度平均"))
    assert "专业知识" in averages and "最需要加强的是" in averages
    shown = texts(at)
    assert "最常漏掉的要点" in shown and "一致性" in shown and "得分最低的题目" in shown
    drills_linked = [parse_qs(query) for label, page, query in page_links(at) if page == "drill"]
    assert drills_linked and all(label == "练这道题" for label, page, _ in page_links(at) if page == "drill")
    assert any(q["question"] == ["backend-zh-003"] for q in drills_linked)  # the drill's missed 一致性
    assert all(q["lang"] == ["zh-CN"] and q["question"][0] for q in drills_linked)


def test_the_link_opens_the_drill_on_that_question(app_env):
    practise(interviews=1)
    at = progress_page()
    query = next(parse_qs(q) for _, page, q in page_links(at) if page == "drill")
    question_id = query["question"][0]
    for key, values in query.items():
        at.query_params[key] = values[0]
    at.switch_page("app_pages/drill.py").run()
    ok(at)
    assert at.selectbox(key="zm_drill_qid").value == question_id


def test_another_user_s_practice_never_shows(app_env):
    practise()
    at = progress_page("analyst", "analyst123")
    assert "还没有练习记录" in at.info[0].value
    assert "一致性" not in texts(at) and not at.metric


def test_in_english(app_env):
    practise(interviews=1)
    at = progress_page(lang="en")
    assert at.title[0].value == "My progress"
    shown = texts(at)
    assert "Points you miss most" in shown and "Practice per week" in shown
    assert any(label == "Drill this question" for label, _, _ in page_links(at))


def test_drills_alone_show_their_missed_points_before_any_interview(app_env):
    drills.evaluate(owner="candidate", question_id="backend-zh-003", answer=GOOD_ACID)
    at = progress_page()
    assert "完成第一场面试后" in at.info[0].value  # no score chart yet
    assert {m.label: m.value for m in at.metric}["单题练习"] == "1"
    assert "一致性" in texts(at)
    assert any(parse_qs(q).get("question") == ["backend-zh-003"] for _, page, q in page_links(at) if page == "drill")
