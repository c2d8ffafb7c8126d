"""POST /auth/token (OAuth2 password flow → bearer token) and GET /auth/me; accounts live in core.auth.

Password checks (bcrypt, deliberately slow) run in a small pool of their own, never in the shared request pool:
a burst of logins waits its turn there while every other request is served as usual.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import API_PREFIX, CurrentUser
from api.errors import AUTH_ERRORS, BODY_ERRORS, errors
from core.auth import HASH_SLOTS, AuthBusy, AuthError, TooManyAttempts, authenticate, create_access_token
from core.models import Token, UserPublic

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])
_login_pool = ThreadPoolExecutor(max_workers=HASH_SLOTS, thread_name_prefix="login")


@router.post("/token", response_model=Token, responses=errors(401, 429, *BODY_ERRORS, 503))
async def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request) -> Token:
    """OAuth2 password flow: form fields `username`, `password` → a bearer token.

    Failed logins are capped per account and client address (429 with Retry-After); the address is the peer's,
    or the one a proxy listed in FORWARDED_ALLOW_IPS forwarded.
    """
    client = request.client.host if request.client else ""
    check = partial(authenticate, form.username, form.password, client=client)
    try:
        user = await asyncio.get_running_loop().run_in_executor(_login_pool, check)
    except TooManyAttempts as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    except AuthBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "2"}) from None
    token, expires_in = create_access_token(user)
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserPublic, responses=errors(*AUTH_ERRORS))
def who_am_i(user: CurrentUser) -> UserPublic:
    return UserPublic(username=user.username, name=user.name, roles=list(user.roles))
