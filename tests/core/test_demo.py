"""core.demo: demo interviews played through the real interview service, idempotent, refused outside demo mode."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import demo, stats
from core.config import load_settings
from core.models import Evaluation, InterviewSession, Message, Report

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key-0123456789abcdef-0123456789"
COUNT = 12


def settings_for(tmp_path, demo_mode: bool):
    return load_settings({"DEMO_MODE": str(demo_mode).lower(), "SECRET_KEY": SECRET,
                          "AUTH_CONFIG": str(tmp_path / "auth.yaml")})


@pytest.fixture
def seeded(engine, tmp_path):
    result = demo.seed_demo(engine=engine, count=COUNT, settings=settings_for(tmp_path, True))
    return engine, result


def test_seed_plays_interviews_through_the_service(seeded, db):
    engine, result = seeded
    assert (result.created, result.skipped) == (COUNT, False)
    rows = db.execute(select(InterviewSession)).scalars().all()

    assert len(rows) == COUNT
    assert {r.owner for r in rows} >= {"candidate", "demo_li", "demo_wang"}
    assert all(r.plan.get("items") and r.owner in demo.DEMO_OWNERS for r in rows)  # start_interview built a plan
    welcomes = db.execute(select(func.count()).where(Message.kind == "welcome")).scalar_one()
    assert welcomes == COUNT
    assert db.execute(select(func.count()).select_from(Evaluation)).scalar_one() > COUNT  # run_turn evaluated
    finished = [r for r in rows if r.is_complete and not r.ended_early]
    ended = [r for r in rows if r.ended_early]
    unfinished = [r for r in rows if not r.is_complete]
    assert finished and ended and unfinished
    reports = {r.session_id: r for r in db.execute(select(Report)).scalars()}
    assert {r.id for r in finished + ended} == set(reports)
    scores = [reports[r.id].overall for r in finished]
    assert max(scores) - min(scores) >= 15, scores  # strong and weak candidates
    assert len({r.field for r in rows}) >= 3 and len({r.level for r in rows}) >= 2


def test_seeded_dates_spread_over_past_weeks_and_messages_follow_in_order(seeded, db):
    engine, _ = seeded
    now = datetime.now(UTC).replace(tzinfo=None)
    frame = stats.load_sessions(engine=engine)

    assert frame["created_at"].max() <= now and frame["created_at"].min() >= now - timedelta(days=31)
    assert frame["created_at"].dt.normalize().nunique() >= 6
    assert (frame["last_activity"] >= frame["created_at"]).all()
    complete = frame[frame["is_complete"] & ~frame["ended_early"]]
    assert (complete["duration_minutes"] >= 5).all()
    for session_id, created, last in frame[["session_id", "created_at", "last_activity"]].itertuples(index=False):
        moments = [m.replace(tzinfo=None) for m in db.execute(
            select(Message.created_at).where(Message.session_id == session_id).order_by(Message.id)).scalars()]
        assert moments == sorted(moments)
        assert moments[0] == created.to_pydatetime() and moments[-1] == last.to_pydatetime()
    assert (frame["model"] == "offline").all() and frame["tokens"].sum() == 0  # never calls a model


def test_seeded_data_feeds_the_statistics(seeded):
    engine, _ = seeded
    frame = stats.load_sessions(engine=engine)

    assert set(frame["status_label"]) >= {"已完成", "进行中"}
    funnel = stats.stage_funnel(frame).set_index("stage")["sessions"]
    assert funnel["welcome"] == COUNT and 0 < funnel["completed"] < COUNT
    assert frame.loc[frame["ended_early"], "reached_stage"].ne("completed").all()
    assert stats.headline(frame).mean_score is not None


def test_seed_is_idempotent(seeded, tmp_path, db):
    engine, _ = seeded

    again = demo.seed_demo(engine=engine, count=COUNT, settings=settings_for(tmp_path, True))

    assert again.skipped and again.existing == COUNT
    assert db.execute(select(func.count()).select_from(InterviewSession)).scalar_one() == COUNT


def test_seed_refuses_outside_demo_mode_unless_forced(engine, tmp_path, db):
    with pytest.raises(demo.DemoRefused, match="DEMO_MODE"):
        demo.seed_demo(engine=engine, count=3, settings=settings_for(tmp_path, False))
    assert db.execute(select(func.count()).select_from(InterviewSession)).scalar_one() == 0

    forced = demo.seed_demo(engine=engine, count=3, force=True, settings=settings_for(tmp_path, False))

    assert forced.created == 3


def test_real_candidate_sessions_do_not_count_as_demo_data(engine, tmp_path):
    from core.interviewer.turns import start_interview

    start_interview(owner="candidate", info={"target_position": "前端开发工程师"}, engine=engine,
                    settings=settings_for(tmp_path, True))

    result = demo.seed_demo(engine=engine, count=6, settings=settings_for(tmp_path, True))

    assert result.created == 6


def test_cli_refuses_seeds_then_reports_existing_data(tmp_path):
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "AUTH_CONFIG": str(tmp_path / "a.yaml"),
                        "SECRET_KEY": SECRET, "INTERVIEWER_MODEL": ""}

    def seed(*args, demo_mode="false"):
        return subprocess.run([sys.executable, "-m", "core.demo", "seed", "--sessions", "4", *args], cwd=REPO_ROOT,
                              env=env | {"DEMO_MODE": demo_mode}, capture_output=True, text=True, timeout=120)

    refused = seed()
    assert refused.returncode == 1 and "DEMO_MODE" in refused.stderr
    forced = seed("--force")
    assert forced.returncode == 0, forced.stderr
    assert "已创建 4 场演示面试" in forced.stdout
    again = seed(demo_mode="true")
    assert again.returncode == 0 and "已存在" in again.stdout
