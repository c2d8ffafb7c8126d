"""m005 on a database an older release left: the resume table and the report's resume_claims arrive, old reports
read with an empty claims section, and the old interviews can be deleted while new ones start from a resume."""

from __future__ import annotations

from sqlalchemy import inspect, text

from core import resume_store, sessions
from core.db import get_engine, session_scope
from core.interviewer import turns
from core.models import ReportPublic
from tests import resume_samples as rs
from tests.core.test_migrations import SESSIONS, release_db  # noqa: F401  (the release database fixture)


def test_m005_upgrades_a_release_database_and_keeps_its_reports(release_db):  # noqa: F811
    kind, url = release_db
    engine = get_engine(url)
    inspector = inspect(engine)
    assert {"id", "owner", "session_id", "text", "parsed"} <= {c["name"] for c in inspector.get_columns("resume")}
    assert "resume_claims" in {c["name"] for c in inspector.get_columns("report")}
    done, _open = SESSIONS[kind]
    old = turns.get_report(owner="alice", session_id=done, engine=engine)
    assert old.resume_claims == [] and ReportPublic.model_validate(old).resume_claims == []
    with session_scope(engine) as db:
        resume_id = resume_store.create_resume(db=db, owner="alice", filename="cv.docx",
                                               data=rs.docx(rs.ZH_LINES)).id
    started = turns.start_interview(owner="alice", engine=engine, info={
        "target_position": "Java后端开发工程师", "field": "后端开发", "resume_id": resume_id})
    assert "秒杀系统" in started.message.content
    with session_scope(engine) as db:
        sessions.delete_session(db=db, owner="alice", session_id=done)  # an old interview, with no resume
        sessions.delete_session(db=db, owner="alice", session_id=started.session.id)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM resume")).scalar_one() == 0
