"""Factories for test data, written through the real services."""

from __future__ import annotations

from core import sessions
from core.interviewer import turns
from core.models import InterviewSession


def make_session(db, owner: str = "alice", **overrides) -> InterviewSession:
    """A new interview as every client starts one (plan, welcome message, last-open session), loaded in `db`."""
    info = {"candidate_name": "张三", "target_position": "React前端开发工程师", "field": "前端开发", "level": "mid",
            "language": "zh-CN"} | overrides
    db.commit()  # the caller's pending writes first, as the service always did: start_interview has its own transaction
    started = turns.start_interview(owner=owner, info=info, engine=db.get_bind())
    return db.get(InterviewSession, started.session.id)


def add_exchange(db, session: InterviewSession, n: int = 1) -> None:
    """Add n question/answer pairs directly (no interviewer): for list/status tests."""
    for i in range(n):
        sessions.add_message(db=db, session=session, role="assistant", content=f"问题 {i}", kind="question")
        sessions.add_message(db=db, session=session, role="user", content=f"回答 {i}", client_message_id=f"c{i}")
    db.commit()
