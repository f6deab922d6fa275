"""Liveness: answers as long as the process serves requests. Checks nothing expensive."""

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/health", summary="Liveness probe")
async def health() -> Health:
    return Health()
