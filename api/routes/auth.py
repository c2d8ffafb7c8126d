"""POST /auth/token (OAuth2 password flow → bearer token) and GET /auth/me; accounts live in core.auth."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import API_PREFIX, CurrentUser
from api.errors import AUTH_ERRORS, BODY_ERRORS, errors
from core.auth import AuthError, TooManyAttempts, authenticate, create_access_token
from core.models import Token, UserPublic

LOGIN_RETRY_AFTER_S = 15 * 60

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post("/token", response_model=Token, responses=errors(401, 429, *BODY_ERRORS))
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request) -> Token:
    """OAuth2 password flow: form fields `username`, `password` → a bearer token."""
    client = request.client.host if request.client else ""
    try:
        user = authenticate(form.username, form.password, client=client)
    except TooManyAttempts as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(LOGIN_RETRY_AFTER_S)}) from None
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    token, expires_in = create_access_token(user)
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserPublic, responses=errors(*AUTH_ERRORS))
def who_am_i(user: CurrentUser) -> UserPublic:
    return UserPublic(username=user.username, name=user.name, roles=list(user.roles))
