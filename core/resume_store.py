"""Resume service: every read and write takes the owner; another user's resume answers exactly like a missing one.

A resume is uploaded on its own, then attached to the interview started from it and deleted with that interview
(ON DELETE CASCADE), or deleted on request. It never reaches the analytics exports (they read sessions only), and
goes to a model only when INTERVIEWER_MODEL is set (core.resume.understand).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core import sessions
from core.models import InterviewSession, Resume, UTCDateTime, new_session_id, utcnow
from core.resume import ResumeParsed, understand
from core.resume_files import ResumeFileError, read_resume_file

MAX_UNUSED_RESUMES = 10  # uploads not (yet) used for an interview, per user; the oldest go first
MAX_FILENAME = 200


class ResumeNotFound(sessions.SessionNotFound):
    """The resume does not exist or belongs to someone else (deliberately indistinguishable)."""

    def __init__(self, resume_id: str = ""):
        LookupError.__init__(self, "简历不存在或已被删除 / resume not found")
        self.session_id = resume_id


class ResumeRejected(sessions.InvalidInput):
    """An upload that cannot be read as a resume; `code` says why (too_large, scanned, encrypted, bomb ...)."""

    def __init__(self, error: ResumeFileError):
        super().__init__(str(error))
        self.code = error.code
        self.error = error


# A resume as its owner sees it: the file's facts and what was understood.
class ResumePublic(BaseModel):
    id: str
    filename: str
    kind: str
    pages: int
    language: str
    source: str
    session_id: str | None = None
    parsed: ResumeParsed
    created_at: UTCDateTime
    updated_at: UTCDateTime


# The candidate's corrections: the whole understood resume, validated like the parser's own output.
class ResumeUpdate(BaseModel):
    parsed: ResumeParsed


class ResumeDeleted(BaseModel):
    resume_id: str
    deleted: bool


def to_public(resume: Resume) -> ResumePublic:
    return ResumePublic(id=resume.id, filename=resume.filename, kind=resume.kind, pages=resume.pages,
                        language=resume.language, source=resume.source, session_id=resume.session_id,
                        parsed=ResumeParsed.model_validate(resume.parsed), created_at=resume.created_at,
                        updated_at=resume.updated_at)


def read_upload(*, data: bytes, settings: Any = None) -> tuple[Any, ResumeParsed, str]:
    """(file text, parsed, source) of an upload, or ResumeRejected: no database work, so callers can run it
    outside a transaction (it takes up to the worker's time limit)."""
    try:
        content = read_resume_file(data)
    except ResumeFileError as exc:
        raise ResumeRejected(exc) from None
    parsed, source = understand(content.text, settings)
    return content, parsed, source


def create_resume(*, db: Session, owner: str, filename: str, data: bytes, settings: Any = None) -> Resume:
    """Read, understand and store an upload for `owner`; ResumeRejected says what is wrong with the file."""
    content, parsed, source = read_upload(data=data, settings=settings)
    now = utcnow()
    resume = Resume(id=new_session_id(), owner=owner, filename=_clean_filename(filename), kind=content.kind,
                    pages=content.pages, language=parsed.language, text=content.text,
                    parsed=parsed.model_dump(mode="json"), source=source, created_at=now, updated_at=now)
    db.add(resume)
    db.flush()
    _drop_old_unused(db=db, owner=owner)
    db.commit()
    return resume


def _clean_filename(name: str | None) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:MAX_FILENAME]


def _drop_old_unused(*, db: Session, owner: str) -> None:
    unused = db.execute(
        select(Resume.id).where(Resume.owner == owner, Resume.session_id.is_(None))
        .order_by(Resume.created_at.desc(), Resume.id).offset(MAX_UNUSED_RESUMES)
    ).scalars().all()
    if unused:
        db.execute(delete(Resume).where(Resume.id.in_(unused), Resume.owner == owner))


def get_resume(*, db: Session, owner: str, resume_id: str) -> Resume:
    """The resume if `owner` owns it; ResumeNotFound otherwise."""
    resume = db.get(Resume, resume_id) if resume_id else None
    if resume is None or resume.owner != owner:
        raise ResumeNotFound(resume_id)
    return resume


def list_resumes(*, db: Session, owner: str) -> list[Resume]:
    return list(db.execute(select(Resume).where(Resume.owner == owner)
                           .order_by(Resume.created_at.desc())).scalars())


def session_resume(*, db: Session, owner: str, session_id: str) -> Resume | None:
    """The resume an interview was started from, if any (and if it still exists)."""
    return db.execute(select(Resume).where(Resume.session_id == session_id, Resume.owner == owner)).scalars().first()


def update_parsed(*, db: Session, owner: str, resume_id: str, parsed: dict | ResumeParsed) -> Resume:
    """Store the candidate's corrections (validated: InvalidInput says what to fix)."""
    resume = get_resume(db=db, owner=owner, resume_id=resume_id)
    try:
        checked = parsed if isinstance(parsed, ResumeParsed) else ResumeParsed.model_validate(parsed)
    except ValidationError as exc:
        raise sessions.InvalidInput("; ".join(sessions.readable_error(e) for e in exc.errors())) from None
    resume.parsed = checked.model_dump(mode="json")
    resume.language = checked.language
    resume.source = "edited"
    resume.updated_at = utcnow()
    db.add(resume)
    db.commit()
    return resume


def delete_resume(*, db: Session, owner: str, resume_id: str) -> None:
    """Remove the resume, and what its interview's plan kept of it (the project names and claims)."""
    resume = get_resume(db=db, owner=owner, resume_id=resume_id)
    if resume.session_id:
        session = db.get(InterviewSession, resume.session_id)
        if session is not None and session.owner == owner and "resume" in (session.plan or {}):
            session.plan = {k: v for k, v in session.plan.items() if k != "resume"}
            db.add(session)
    db.execute(delete(Resume).where(Resume.id == resume_id, Resume.owner == owner))
    db.commit()
    db.expunge_all()


def attach_to_session(conn: Connection, *, owner: str, resume: Resume, session_id: str, now: datetime) -> str:
    """Tie the resume to the interview started from it (deleted with it). A resume already used for another
    interview is copied, so deleting one interview never takes another's resume with it. Returns the row's id."""
    if resume.session_id is None:
        done = conn.execute(update(Resume.__table__)
                            .where(Resume.__table__.c.id == resume.id, Resume.__table__.c.owner == owner,
                                   Resume.__table__.c.session_id.is_(None))
                            .values(session_id=session_id, updated_at=now))
        if done.rowcount == 1:
            return resume.id
    copy_id = new_session_id()
    values = {column.name: getattr(resume, column.name) for column in Resume.__table__.columns}
    values.update(id=copy_id, session_id=session_id, created_at=now, updated_at=now)
    conn.execute(Resume.__table__.insert().values(**values))
    return copy_id
