"""The question-drill page under AppTest: pick, answer, see what was covered in your own words, history, limits."""

from __future__ import annotations

from core import drills
from tests.pages.helpers import login, nav_paths, ok, texts

PAGE = "app_pages/drill.py"
# A natural answer to backend-zh-007 (why an indexed query does not use its index), with one point left out.
ANSWER = ("最常见的是联合索引没按最左前缀用，比如索引是 (a, b)，where 里只写了 b。还有就是在索引列上套了函数或者做了"
          "隐式类型转换，比如手机号字段是 varchar，查询时传了数字，索引就失效了。排查的话我会先 explain 看一下 key 列"
          "有没有用上索引、rows 扫了多少行。")


def drill_page(**query: str):
    at = login(**query)
    at.switch_page(PAGE).run()
    return ok(at)


def submit(at, answer: str):
    at.text_area(key="zm_drill_answer").input(answer)
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_drill_form")).click().run()
    return ok(at)


def test_every_user_has_the_drill_page(app_env):
    assert "drill" in nav_paths(login())
    assert "drill" in nav_paths(login("staff", "staff123"))


def test_a_linked_question_is_preselected_with_its_filters(app_env):
    at = login(question="backend-zh-007")
    at.switch_page(PAGE).run()
    ok(at)

    assert at.selectbox(key="zm_drill_qid").value == "backend-zh-007"
    assert at.selectbox(key="zm_drill_field").value == "backend"
    assert at.selectbox(key="zm_drill_stage").value == "technical"
    assert "没有走索引" in at.selectbox(key="zm_drill_qid").format_func("backend-zh-007")


def test_answer_shows_covered_points_with_the_candidates_words_what_to_add_and_a_follow_up(app_env):
    at = drill_page(question="backend-zh-007")
    submit(at, ANSWER)

    shown = texts(at)
    assert "你讲到的要点" in shown and "违反最左前缀原则" in shown
    assert "隐式类型转换" in shown  # quoted from the answer
    assert "还可以补充" in shown and "前导模糊匹配" in shown  # the point not made is listed to add, not as covered
    assert "面试官可能会接着问" in shown
    follow_up = "\n".join(m.markdown[0].value for m in at.chat_message)
    assert follow_up.strip()
    score = float(at.metric[0].value.split("/")[0])
    assert 2.0 <= score <= 5.0
    # stored in the user's history, shown under the answer
    assert [a.question_id for a in drills.history(owner="candidate")] == ["backend-zh-007"]
    assert any("练习记录（1）" in s.value for s in at.subheader)


def test_a_wrong_answer_scores_low_and_is_challenged(app_env):
    at = drill_page(question="backend-zh-007")
    submit(at, "建了索引就一定会走索引，没走的话肯定是数据库的 bug，重启一下 MySQL 就好了。")

    assert float(at.metric[0].value.split("/")[0]) < 2.0
    assert "你讲到的要点" not in texts(at)


def test_another_question_changes_the_question_and_empties_the_answer_box(app_env):
    at = drill_page(question="backend-zh-007")
    at.text_area(key="zm_drill_answer").input("写到一半的回答").run()
    at.button(key="zm_drill_another").click().run()
    ok(at)

    assert at.selectbox(key="zm_drill_qid").value != "backend-zh-007"
    assert at.text_area(key="zm_drill_answer").value == ""
    assert at.query_params["question"] == at.selectbox(key="zm_drill_qid").value  # a shareable link


def test_empty_answer_is_explained_and_nothing_is_stored(app_env):
    at = drill_page(question="backend-zh-007")
    submit(at, "   ")

    assert at.error and "无法提交" in at.error[0].value
    assert drills.history(owner="candidate") == []


def test_over_the_turn_rate_is_a_friendly_warning_and_the_answer_stays(app_env, monkeypatch):
    from core.config import reset_settings

    monkeypatch.setenv("TURN_RATE_LIMIT", "1/minute")
    reset_settings()
    at = drill_page(question="backend-zh-007")
    submit(at, ANSWER)
    submit(at, ANSWER + "补充一句。")

    assert at.warning and "提交得太频繁了" in at.warning[0].value
    assert at.text_area(key="zm_drill_answer").value == ANSWER + "补充一句。"
    assert len(drills.history(owner="candidate")) == 1


def test_history_delete_one_and_clear_all_with_confirmation(app_env):
    at = drill_page(question="backend-zh-007")
    submit(at, ANSWER)
    submit(at, "索引失效一般是因为最左前缀没满足。")
    first, second = drills.history(owner="candidate")

    at.button(key=f"zm_drill_delete_{first.id}").click().run()
    ok(at)
    assert [a.id for a in drills.history(owner="candidate")] == [second.id]

    at.button(key="zm_drill_clear").click().run()
    assert "确定删除全部 1 条练习记录吗" in texts(at)
    at.button(key="zm_drill_clear_no").click().run()
    assert len(drills.history(owner="candidate")) == 1
    at.button(key="zm_drill_clear").click().run()
    at.button(key="zm_drill_clear_yes").click().run()
    ok(at)
    assert drills.history(owner="candidate") == []
    assert "还没有练习记录" in texts(at)


def test_one_users_history_is_not_shown_to_another(app_env):
    at = drill_page(question="backend-zh-007")
    submit(at, ANSWER)

    other = login("staff", "staff123")
    other.switch_page(PAGE).run()
    ok(other)
    assert "练习记录（0）" in "\n".join(s.value for s in other.subheader)


def test_english_questions_and_feedback_in_english(app_env):
    at = drill_page(lang="en", question="backend-en-007")
    ok(at)
    assert at.selectbox(key="zm_drill_qid").value == "backend-en-007"
    submit(at, "Usually the composite index is used without its leftmost column, or the query wraps the indexed "
               "column in a function, so the B+ tree order cannot be used. I would run EXPLAIN and check the key "
               "column and the rows estimate.")
    shown = texts(at)
    assert "Points you made" in shown and "You could add" in shown
