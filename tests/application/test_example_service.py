"""The example service (examples/service.py), driven over HTTP with httpx.

An acknowledged write is a stored write: 201 only after COMMIT succeeded; a COMMIT that fails
(a deferred constraint) answers 503 and stores nothing, and the pooled connection is fine after.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from examples.service import create_app
from tests.conftest import REPO_ROOT

ORGANIZATION = "00000000-0000-0000-0000-00000000000a"
OWNER = "00000000-0000-0000-0000-000000000001"  # ada
WORKSPACE = "00000000-0000-0000-0000-0000000000f1"

# Checked at COMMIT, not at the INSERT: what "the write succeeded" must not be mistaken for.
FAILS_AT_COMMIT = """
CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'agent % is refused at commit', NEW.agent_name
        USING ERRCODE = 'check_violation';
END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON connection_logs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.agent_name = 'fails-at-commit') EXECUTE FUNCTION refuse_at_commit();
"""


def _load_world(db: psycopg.Connection[Any]) -> None:
    for fixture in sorted((REPO_ROOT / "tests" / "fixtures").glob("*.sql")):
        db.execute(fixture.read_bytes())
    db.execute(FAILS_AT_COMMIT)
    db.commit()


def _event(agent_name: str = "main") -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "time": datetime(2025, 7, 4, 9, 0, tzinfo=UTC).isoformat(),
        "organization_id": ORGANIZATION,
        "workspace_owner_id": OWNER,
        "workspace_id": WORKSPACE,
        "workspace_name": "dev",
        "agent_name": agent_name,
        "type": "ssh",
        "connection_status": "connected",
        "connection_id": str(uuid.uuid4()),
    }


def _serve(db_url: str, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    app = create_app(db_url)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                await scenario(client)

    asyncio.run(run())


def _stored(db_url: str, connection_id: object) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM connection_logs WHERE connection_id = %s", [connection_id]
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_a_recorded_event_is_stored_before_the_client_hears_201(
    db: psycopg.Connection[Any], db_url: str
) -> None:
    _load_world(db)
    event = _event()

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post("/events", json=event)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["connection_id"] == event["connection_id"] and body["type"] == "ssh"
        # Committed already: another connection sees it while the service still runs.
        assert _stored(db_url, event["connection_id"]) == 1

        listed = await client.get("/logs", params={"workspace_owner": "ada", "limit": 10})
        assert listed.status_code == 200, listed.text
        rows = listed.json()
        assert rows[0]["connection_log"]["connection_id"] == event["connection_id"]
        assert rows[0]["workspace_owner_username"] == "ada"

    _serve(db_url, scenario)


def test_a_commit_that_fails_is_never_acknowledged(
    db: psycopg.Connection[Any], db_url: str
) -> None:
    _load_world(db)
    refused, fine = _event("fails-at-commit"), _event()

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post("/events", json=refused)
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": "not stored", "sqlstate": "23514"}
        assert _stored(db_url, refused["connection_id"]) == 0
        # The pool's connection came back clean: the next write goes through.
        for _ in range(3):
            again = await client.post("/events", json=fine)
            assert again.status_code == 201, again.text
        assert _stored(db_url, fine["connection_id"]) == 1

    _serve(db_url, scenario)


def test_an_argument_the_generated_code_refuses_is_the_clients_422(
    db: psycopg.Connection[Any], db_url: str
) -> None:
    _load_world(db)

    async def scenario(client: httpx.AsyncClient) -> None:
        negative = await client.get("/logs", params={"limit": -1})
        assert negative.status_code == 422, negative.text
        assert negative.json()["parameter"] == "limit"
        # A keyset cursor without its time is refused, not ignored (which would restart paging).
        half_cursor = await client.get("/logs", params={"after_id": str(uuid.uuid4())})
        assert half_cursor.status_code == 422, half_cursor.text
        assert half_cursor.json()["parameter"] in {"after_id", "after_connect_time"}

    _serve(db_url, scenario)


def test_an_event_record_py_refuses_is_the_clients_422_and_nothing_is_sent(
    db: psycopg.Connection[Any], db_url: str
) -> None:
    _load_world(db)
    nul = _event(agent_name="ma\x00in")

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post("/events", json=nul)
        # PostgreSQL refuses a NUL in text too, but as a database error naming no field (503).
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "agent_name"

    _serve(db_url, scenario)
    assert _stored(db_url, nul["connection_id"]) == 0


def test_the_openapi_schema_has_the_generated_rows(db_url: str) -> None:
    schema = create_app(db_url).openapi()
    components = schema["components"]["schemas"]
    assert {"ConnectionLog", "GetConnectionLogsOffsetRow", "Event"} <= set(components)
    # One row class for the listings' identical results: no duplicate schemas.
    assert not {"GetConnectionLogsPageRow", "GetAuthorizedConnectionLogsPageRow"} & set(components)
