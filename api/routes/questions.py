"""The question drill: practise single questions from the banks outside a full interview.

Registered in create_app but empty for now; its routes (under /api/v1/questions) come with the drill itself.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/questions", tags=["questions"])
