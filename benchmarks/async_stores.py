"""Benchmark-only: the rendered service with its user store swapped for an async engine.

Loaded by `postgres_driver.py` into the rendered project as `uvicorn async_stores:app`, with
BENCH_DRIVER=psycopg_async or asyncpg. Never shipped in a rendered project.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from my_service.main import create_app
from my_service.users.models import UserRecord
from my_service.users.sql import users
from sqlalchemy import insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

COLUMNS = (
    users.c.username,
    users.c.email,
    users.c.full_name,
    users.c.disabled,
    users.c.password_hash,
    users.c.scopes,
)


class AsyncUserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, username: str) -> UserRecord | None:
        async with self._engine.connect() as connection:
            result = await connection.execute(select(*COLUMNS).where(users.c.username == username))
            row = result.one_or_none()
        if row is None:
            return None
        scopes = None if row.scopes is None else frozenset(row.scopes.split())
        return UserRecord(**{**row._asdict(), "scopes": scopes})

    async def add(self, user: UserRecord) -> None:
        scopes = None if user.scopes is None else " ".join(sorted(user.scopes))
        async with self._engine.begin() as connection:
            values = {**user.model_dump(), "scopes": scopes}
            await connection.execute(insert(users).values(**values))

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=password_hash)
            )


app = create_app()
_shipped_lifespan = app.router.lifespan_context


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[Any]:
    async with _shipped_lifespan(app):
        driver = os.environ["BENCH_DRIVER"]
        url = make_url(os.environ["DATABASE_URL"]).set(drivername=f"postgresql+{driver}")
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        store = AsyncUserStore(engine)
        services = app.state.services
        services.login._users = store  # logins look users up through Login
        app.state.services = replace(services, users=store)
        try:
            yield
        finally:
            await engine.dispose()


app.router.lifespan_context = _lifespan
