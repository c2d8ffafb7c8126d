"""app_pages/analytics.py under AppTest: role gating, headline numbers, charts, table, exports and name privacy."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import AuthUser
from core.config import reset_settings
from core.db import get_engine, session_scope
from core.models import Report
from tests.factories import add_exchange, make_session

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "analytics.py")
USER_KEY = "zm_user"


@pytest.fixture
def seeded(app_env):
    """Three sessions by two candidates, one completed with a report."""
    with session_scope(get_engine()) as db:
        done = make_session(db, owner="alice", candidate_name="王小红", field="数据分析")
        add_exchange(db, done, 6)
        done.interview_stage, done.is_complete, done.prompt_tokens, done.completion_tokens = "completed", True, 900, 100
        db.add(done)
        db.add(Report(session_id=done.id, overall=84,
                      dimensions={"knowledge": 80, "communication": 85, "logic": 82, "project": 78, "fit": 90}))
        make_session(db, owner="alice", candidate_name="王小红")
        make_session(db, owner="bob", candidate_name="李雷", field="后端开发")
        db.commit()
    return app_env


def run_page(*, roles=None, tz=None) -> AppTest:
    """The page as app.py runs it for a user with `roles` (None: nobody signed in)."""
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.context = {"timezone": tz}
    if roles is not None:
        at.session_state[USER_KEY] = AuthUser(username="someone", name="某人", roles=tuple(roles))
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("roles", [None, ["candidate"], []])
def test_anyone_but_staff_and_analysts_is_refused(seeded, roles):
    at = run_page(roles=roles)

    assert len(at.error) == 1 and "仅对" in at.error[0].value
    assert not at.metric and not at.dataframe
    assert not at.get("download_button")


@pytest.mark.parametrize("role", ["staff", "analyst"])
def test_staff_and_analysts_see_headline_numbers_charts_table_and_exports(seeded, role):
    at = run_page(roles=[role])

    assert not at.error
    numbers = metrics(at)
    assert numbers["面试场次"] == "3" and numbers["候选人数"] == "2"
    assert numbers["完成率"] == "33%" and numbers["平均得分"] == "84.0" and numbers["Token 用量"] == "1,000"
    assert len(at.get("vega_lite_chart")) == 4  # one day of data: the daily numbers are figures, not a chart
    sessions_table = at.dataframe[-1].value
    assert len(sessions_table) == 3 and "candidate" in sessions_table.columns
    assert len(at.get("download_button")) == 3


@pytest.mark.parametrize("include_names", ["true", "false"])
def test_analysts_never_see_names(seeded, monkeypatch, include_names):
    monkeypatch.setenv("STATS_INCLUDE_NAMES", include_names)
    reset_settings()

    table = run_page(roles=["analyst"]).dataframe[-1].value

    assert "candidate_name" not in table.columns and "username" not in table.columns
    assert not {"alice", "bob"} & set(table.astype(str).to_numpy().ravel())


def test_staff_see_names_only_when_the_setting_allows(seeded, monkeypatch):
    assert "username" not in run_page(roles=["staff"]).dataframe[-1].value.columns

    monkeypatch.setenv("STATS_INCLUDE_NAMES", "true")
    reset_settings()
    table = run_page(roles=["staff"]).dataframe[-1].value

    assert set(table["username"]) == {"alice", "bob"} and "王小红" in set(table["candidate_name"])


def test_filters_narrow_the_numbers(seeded):
    at = run_page(roles=["analyst"])

    at.selectbox(key="analytics_field").set_value("数据分析").run()
    assert not at.exception
    assert metrics(at)["面试场次"] == "1"

    at.selectbox(key="analytics_field").set_value(None).run()
    at.selectbox(key="analytics_completed").set_value(False).run()
    assert metrics(at)["面试场次"] == "2" and metrics(at)["完成率"] == "0%"


def test_empty_database_shows_zeroes_and_a_hint(app_env):
    at = run_page(roles=["staff"])

    assert metrics(at)["面试场次"] == "0" and metrics(at)["平均得分"] == "—"
    assert at.info and len(at.get("download_button")) == 3


@pytest.mark.parametrize(("browser_zone", "shown"), [(None, "Asia/Shanghai"), ("Europe/Berlin", "Europe/Berlin"),
                                                     ("Not/AZone", "Asia/Shanghai")])
def test_the_page_says_which_time_zone_it_uses(seeded, browser_zone, shown):
    at = run_page(roles=["analyst"], tz=browser_zone)

    captions = " ".join(c.value for c in at.caption)
    assert shown in captions and "UTC" not in at.caption[0].value
    assert str(at.dataframe[-1].value["created_at"].dt.tz) == shown  # the table shows local times


@pytest.mark.parametrize(("browser_zone", "on_24th", "on_23rd"), [("Asia/Shanghai", 1, 0), ("UTC", 0, 1)])
def test_date_filter_uses_the_viewers_calendar_day(app_env, browser_zone, on_24th, on_23rd):
    with session_scope(get_engine()) as db:
        late = make_session(db, owner="alice")  # 07:30 on the 24th in Beijing, 23:30 on the 23rd in UTC
        late.created_at = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
        late.last_activity = late.created_at + timedelta(minutes=20)
        db.add(late)
        db.commit()
    at = run_page(roles=["analyst"], tz=browser_zone)

    at.date_input(key="analytics_dates").set_value((date(2026, 11, 24), date(2026, 11, 24))).run()
    assert not at.exception and metrics(at)["面试场次"] == str(on_24th)
    at.date_input(key="analytics_dates").set_value((date(2026, 11, 23), date(2026, 11, 23))).run()
    assert not at.exception and metrics(at)["面试场次"] == str(on_23rd)
