"""ReleasingRoute: a sync endpoint runs in one trip to the thread pool and gives its connection back there."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator
from sqlalchemy import text

from shared.db import Database, ReleasingRoute, SessionDep

# connections checked out of the test's pool at the moment FastAPI validates the response
CHECKED_OUT_AT_VALIDATION: list[int] = []
POOLS: list = []


class Out(BaseModel):
    value: int

    @field_validator("value")
    @classmethod
    def _record(cls, value: int) -> int:
        CHECKED_OUT_AT_VALIDATION.append(POOLS[-1].checkedout())
        return value


def make_app(tmp_path) -> tuple[FastAPI, Database, dict]:
    db = Database(f"sqlite:///{tmp_path}/releasing.db")
    POOLS.append(db.engine.pool)
    seen: dict = {}
    router = APIRouter(route_class=ReleasingRoute)

    @router.get("/read", response_model=Out)
    def read(session: SessionDep) -> dict:
        seen["thread"] = threading.current_thread().name
        seen["session"] = session
        # a read that never commits: its transaction stays open until the session is closed
        return {"value": session.execute(text("SELECT 41 + 1")).scalar_one(), "dropped": "by the response model"}

    @router.get("/refuse")
    def refuse(session: SessionDep) -> dict:
        seen["session"] = session
        session.execute(text("SELECT 1"))
        raise RuntimeError("refused after opening a transaction")

    app = FastAPI()
    app.state.db = db
    app.include_router(router)

    @app.exception_handler(RuntimeError)
    async def refused(_request, _exc) -> JSONResponse:
        seen["checked_out_at_error"] = db.engine.pool.checkedout()
        return JSONResponse({"detail": "refused"}, status_code=500)

    return app, db, seen


def test_the_endpoint_runs_in_a_worker_thread_and_returns_its_connection_before_answering(tmp_path):
    app, db, seen = make_app(tmp_path)
    with TestClient(app) as client:
        r = client.get("/read")
    assert r.status_code == 200 and r.json() == {"value": 42}  # still validated by its response model
    assert seen["thread"] != threading.main_thread().name
    # the connection was back in the pool before the response was validated (a plain route still holds it)
    assert CHECKED_OUT_AT_VALIDATION[-1] == 0
    assert not seen["session"].in_transaction()
    assert db.engine.pool.checkedout() == 0
    db.dispose()


def test_a_failing_endpoint_has_rolled_back_and_returned_its_connection_before_the_error_is_answered(tmp_path):
    app, db, seen = make_app(tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/refuse").status_code == 500
    assert seen["checked_out_at_error"] == 0  # rolled back and returned before the error was answered
    assert not seen["session"].in_transaction()
    assert db.engine.pool.checkedout() == 0
    db.dispose()


def test_the_route_keeps_the_endpoint_signature_for_openapi(tmp_path):
    app, db, _ = make_app(tmp_path)
    operation = app.openapi()["paths"]["/read"]["get"]
    assert "session" not in str(operation.get("parameters", []))  # a dependency, not a query parameter
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Out")
    db.dispose()
