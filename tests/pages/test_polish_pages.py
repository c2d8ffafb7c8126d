"""Issue 15 under AppTest: the analytics page's readable headers and daily chart, the first-visit welcome."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from core import stats
from core.db import get_engine, session_scope
from tests.factories import make_session
from tests.pages.helpers import login, ok, texts
from tests.pages.test_analytics_page import seeded  # noqa: F401  (fixture)

LANG_KEY = "zm_lang"


def run_analytics(lang: str, **kwargs):
    """The analytics page for an analyst whose UI is in `lang`."""
    from streamlit.testing.v1 import AppTest

    from core.auth import AuthUser
    from tests.pages.test_analytics_page import PAGE, USER_KEY

    at = AppTest.from_file(PAGE, default_timeout=30)
    at.context = {"timezone": kwargs.get("tz", "Asia/Shanghai")}
    at.session_state[LANG_KEY] = lang
    at.session_state[USER_KEY] = AuthUser(username="someone", name="某人", roles=("analyst",))
    return ok(at.run())


def column_config(at) -> dict[str, dict]:
    return json.loads(at.dataframe[-1].proto.columns)


@pytest.mark.parametrize(("lang", "position", "messages", "dimension"), [
    ("zh-CN", "目标岗位", "消息数", "专业知识得分"),
    ("en", "Target position", "Messages", "Expertise score"),
])
def test_sessions_table_has_readable_headers_and_exports_keep_machine_names(seeded, lang, position, messages,  # noqa: F811
                                                                            dimension):
    at = run_analytics(lang)

    config = column_config(at)
    table = at.dataframe[-1].value
    assert config["target_position"]["label"] == position
    assert config["message_count"]["label"] == messages
    assert config["score_knowledge"]["label"] == dimension
    assert all(config[column]["label"] and config[column]["label"] != column for column in table.columns)
    assert "target_position" in config["target_position"]["help"]  # the export's name, on hover
    # The table's data keeps the stable names: the exports are built from the same frame.
    assert list(table.columns) == [c for c in stats.SESSION_COLUMNS if c not in stats.NAME_COLUMNS]
    header = stats.export_frame(table, "csv").content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("session_id,candidate,field,target_position")


def chart_frames(at) -> list:
    """The data of every Vega-Lite chart on the page."""
    frames = []
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frames.append(pa.ipc.open_stream(io.BytesIO(dataset.data.data)).read_pandas())
    return frames


@pytest.fixture
def two_days(app_env):
    """Interviews on the 20th and 22nd of November (Beijing time), none on the 21st."""
    with session_scope(get_engine()) as db:
        for day, hour in ((20, 2), (22, 3), (22, 5)):
            session = make_session(db, owner=f"user{hour}")
            session.created_at = datetime(2026, 11, day, hour, tzinfo=UTC)
            session.last_activity = session.created_at + timedelta(minutes=20)
            db.add(session)
        db.commit()
    return app_env


@pytest.mark.parametrize(("lang", "days"), [("zh-CN", ["11月20日", "11月21日", "11月22日"]),
                                           ("en", ["Nov 20", "Nov 21", "Nov 22"])])
def test_daily_chart_labels_days_in_the_ui_language_in_calendar_order(two_days, lang, days):
    at = run_analytics(lang)
    at.date_input(key="analytics_dates").set_value((date(2026, 11, 19), date(2026, 11, 23))).run()
    ok(at)

    daily = next(f for f in chart_frames(at) if "day" in f.columns)
    shown = list(dict.fromkeys(daily["day"]))
    assert shown == days
    spec = json.dumps(json.loads(at.get("vega_lite_chart")[0].proto.spec))
    assert '"temporal"' not in spec  # no English weekday labels ("Thu 26") from Vega's own time axis
    per_day = daily.groupby("day", sort=False)["count"].max().tolist()
    assert per_day == [1, 0, 2]


@pytest.mark.parametrize(("lang", "day", "label"), [("zh-CN", "11月22日", "面试场次"), ("en", "Nov 22", "Interviews")])
def test_one_day_of_data_is_plain_figures_not_an_empty_chart(two_days, lang, day, label):
    at = run_analytics(lang)
    at.date_input(key="analytics_dates").set_value((date(2026, 11, 22), date(2026, 11, 22))).run()
    ok(at)

    assert not [f for f in chart_frames(at) if "day" in f.columns]  # no one-point line
    assert any(day in c.value for c in at.caption)
    figures = [(m.label, m.value) for m in at.metric]
    assert figures.count((label, "2")) == 2  # the headline number and the day's figure
    assert len(at.get("vega_lite_chart")) == 2  # per field and the funnel (no report yet: no score charts)


# --- first visit ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "title", "duration"), [("zh-CN", "欢迎来到职面星火", "15–30 分钟"),
                                                         ("en", "Welcome to Zhimian Xinghuo", "15–30 minutes")])
def test_a_candidate_with_no_sessions_is_welcomed_above_the_form(app_env, lang, title, duration):
    at = login(lang=lang)

    shown = texts(at)
    assert title in shown and duration in shown
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0] == title
    assert at.text_input(key="zm_new_position")  # and the form is right there



def test_the_new_interview_page_welcomes_a_first_visit_too(app_env):
    at = login()
    at.switch_page("app_pages/new_interview.py").run()
    ok(at)
    assert at.subheader[0].value == "欢迎来到职面星火" and at.text_input(key="zm_new_position")


def test_the_welcome_goes_once_there_is_an_interview(app_env):
    at = login()
    at.text_input(key="zm_new_position").input("Python后端工程师")
    next(b for b in at.button if b.key.startswith("FormSubmitter:zm_new_form")).click().run()
    ok(at)

    assert "欢迎来到职面星火" not in texts(at)
    at.switch_page("app_pages/new_interview.py").run()
    ok(at)
    assert "欢迎来到职面星火" not in texts(at)
    assert at.text_input(key="zm_new_position")


def test_no_reports_yet_says_so_instead_of_two_empty_score_charts(two_days):
    at = run_analytics("zh-CN")
    at.date_input(key="analytics_dates").set_value((date(2026, 11, 19), date(2026, 11, 23))).run()
    ok(at)

    assert [c.value for c in at.caption].count("所选范围内还没有已出报告的面试。") == 2
    assert len(at.get("vega_lite_chart")) == 3  # per day, per field, the stage funnel


# --- where each role lands --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff", "analyst"])
def test_staff_and_analysts_land_on_analytics_without_a_session_in_the_url(app_env, username):
    at = login(username, f"{username}123")

    assert at.title[0].value == "练习数据分析"
    assert "session" not in at.query_params


def test_candidates_land_on_the_chat(app_env):
    at = login()

    assert at.title[0].value == "新建模拟面试" and not [t for t in at.title if t.value == "练习数据分析"]
