"""/resumes: upload a resume (multipart), read what was understood, correct it, delete it. Owner only: anyone
else's resume answers 404, like a missing one. An interview starts from one with `POST /chat/start`
{"resume_id": ...}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import API_PREFIX, DB, CurrentUser
from api.errors import AUTH_ERRORS, errors
from core import resume_store
from core.resume_files import MAX_BYTES
from core.resume_store import ResumeDeleted, ResumePublic, ResumeUpdate

router = APIRouter(prefix=f"{API_PREFIX}/resumes", tags=["resumes"])
UPLOAD_PATH = f"{API_PREFIX}/resumes"
UPLOAD_MAX_BODY = MAX_BYTES + 64 * 1024  # the file plus the multipart envelope (api.middleware lets this through)


@router.post("", status_code=201, response_model=ResumePublic, responses=errors(*AUTH_ERRORS, 413, 422))
async def upload_resume(file: Annotated[UploadFile, File(description="PDF, DOCX, TXT or Markdown, ≤ 5 MB")],
                        user: CurrentUser, db: DB) -> ResumePublic:
    """Read and understand a resume (type by content, not name); the answer shows what was understood. A file
    that cannot be read gets 422 (413 over 5 MB) with a message saying what to do, and `code`: resume_scanned,
    resume_encrypted, resume_broken, resume_bomb, resume_too_many_pages, resume_unsupported, resume_timeout ..."""
    data = await file.read(MAX_BYTES + 1)
    resume = await run_in_threadpool(resume_store.create_resume, db=db, owner=user.username,
                                     filename=file.filename or "", data=data)
    return resume_store.to_public(resume)


@router.get("", response_model=list[ResumePublic], responses=errors(*AUTH_ERRORS))
def list_resumes(user: CurrentUser, db: DB) -> list[ResumePublic]:
    """The user's resumes, newest first."""
    return [resume_store.to_public(r) for r in resume_store.list_resumes(db=db, owner=user.username)]


@router.get("/{resume_id}", response_model=ResumePublic, responses=errors(*AUTH_ERRORS, 404))
def read_resume(resume_id: str, user: CurrentUser, db: DB) -> ResumePublic:
    """What was understood of one resume."""
    return resume_store.to_public(resume_store.get_resume(db=db, owner=user.username, resume_id=resume_id))


@router.put("/{resume_id}", response_model=ResumePublic, responses=errors(*AUTH_ERRORS, 404, 422))
def correct_resume(resume_id: str, body: ResumeUpdate, user: CurrentUser, db: DB) -> ResumePublic:
    """Replace what was understood with the candidate's corrections (interviews started afterwards use them)."""
    resume = resume_store.update_parsed(db=db, owner=user.username, resume_id=resume_id, parsed=body.parsed)
    return resume_store.to_public(resume)


@router.delete("/{resume_id}", response_model=ResumeDeleted, responses=errors(*AUTH_ERRORS, 404))
def delete_resume(resume_id: str, user: CurrentUser, db: DB) -> ResumeDeleted:
    """Delete the resume now (it is also deleted with the interview it was used for)."""
    resume_store.delete_resume(db=db, owner=user.username, resume_id=resume_id)
    return ResumeDeleted(resume_id=resume_id, deleted=True)
