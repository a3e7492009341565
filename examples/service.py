"""A small FastAPI service over the generated ``aio`` functions: the transaction rule in practice.

Run it (after ``./dev yoyo apply --batch``)::

    DATABASE_URL=$(./dev db url) .venv/bin/uvicorn --factory examples.service:create_app

The rule: the generated functions never commit; the caller owns the transaction. A write
endpoint here commits inside its own body (``async with conn.transaction()``), so the response
is sent only after COMMIT succeeded: a client that got 201 holds a stored event, and one whose
COMMIT failed (a deferred constraint, a killed backend) gets an error, never a success. The
generated code's own errors map in one handler each: an ``ArgumentError`` (a ``ValueError``
naming the parameter) is the client's 422, and so is an event ``connlog.record.check_event``
refuses (``InvalidEvent``, naming the field), checked before the generated function runs as
``record_event`` checks it. Leaving
the commit to the pool's return of the connection (a dependency's exit) would run it after the
response is on its way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from connlog.generated import ArgumentError
from connlog.generated.aio.connection_logs import (
    GetConnectionLogsPageRow,
    get_connection_logs_page,
    upsert_connection_log,
)
from connlog.generated.models import ConnectionLog, ConnectionStatus, ConnectionType
from connlog.record import ConnectionEvent, InvalidEvent, check_event


class Event(BaseModel):
    """One connection event as a client reports it."""

    id: UUID
    time: datetime
    organization_id: UUID
    workspace_owner_id: UUID
    workspace_id: UUID
    workspace_name: str
    agent_name: str
    type: ConnectionType
    connection_status: ConnectionStatus
    connection_id: UUID | None = None
    code: int | None = None
    disconnect_reason: str | None = None


async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection for one request; the pool rolls back what it left open."""
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.AsyncConnection[Any], Depends(connection)]


def create_app(conninfo: str | None = None) -> FastAPI:
    """The service on a pool of connections to ``conninfo`` (default: ``$DATABASE_URL``)."""
    pool = AsyncConnectionPool(
        conninfo or os.environ["DATABASE_URL"], min_size=1, max_size=4, open=False
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        await pool.open(wait=True)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)
    app.state.pool = pool

    @app.exception_handler(ArgumentError)
    async def bad_argument(_: Request, exc: ArgumentError) -> JSONResponse:
        # Refused by the generated function before anything was sent: the client's mistake.
        return JSONResponse(
            {"detail": str(exc), "parameter": exc.parameter, "expected": exc.expected},
            status_code=422,
        )

    @app.exception_handler(InvalidEvent)
    async def bad_event(_: Request, exc: InvalidEvent) -> JSONResponse:
        # What connlog.record refuses (a NUL in a name, a name too long for the session index)
        # before anything is sent; PostgreSQL's own error would be a 503 naming no field.
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)

    @app.exception_handler(psycopg.Error)
    async def database_error(_: Request, exc: psycopg.Error) -> JSONResponse:
        # Not stored: the client may retry (recording the same event twice is harmless).
        return JSONResponse({"detail": "not stored", "sqlstate": exc.sqlstate}, status_code=503)

    @app.post("/events", status_code=201)
    async def record(event: Event, conn: Connection) -> ConnectionLog:
        # COMMIT happens when this block ends, before FastAPI sends the response.
        # The checks record_event makes: this service records through the async functions.
        check_event(ConnectionEvent(**event.model_dump()))
        async with conn.transaction():
            return await upsert_connection_log(conn, **event.model_dump())

    @app.get("/logs")
    async def logs(
        conn: Connection,
        workspace_owner: str | None = None,
        after_connect_time: datetime | None = None,
        after_id: UUID | None = None,
        limit: int = 50,
    ) -> list[GetConnectionLogsPageRow]:
        if limit > 500:
            raise HTTPException(422, "limit must be at most 500")
        async with conn.transaction():
            return await get_connection_logs_page(
                conn,
                workspace_owner=workspace_owner,
                after_connect_time=after_connect_time,
                after_id=after_id,
                limit=limit,
            )

    return app
