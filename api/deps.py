"""What routes depend on: the API prefix, one DB session per request, the token's user and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from core.auth import AuthError, AuthUser, decode_access_token
from core.db import get_engine, session_scope

API_PREFIX = "/api/v1"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/auth/token")


def get_db() -> Iterator[Session]:
    """One DB session per request."""
    with session_scope(get_engine()) as db:
        yield db


async def current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> AuthUser:
    """The token's user, checked on the event loop: a JWT check costs less than a hop to a worker thread."""
    try:
        return decode_access_token(token)
    except AuthError:
        raise HTTPException(401, "令牌无效或已过期 / invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"}) from None


def statistics_user(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
    if not user.has_any_role("staff", "analyst"):
        raise HTTPException(403, "仅限教师或分析员 / staff or analyst role required")
    return user


DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[AuthUser, Depends(current_user)]
StatisticsUser = Annotated[AuthUser, Depends(statistics_user)]
