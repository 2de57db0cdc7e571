"""The process keeps answering its probes, and a slow key server stalls no one but the caller."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.enrollment.main import create_app
from shared.db import ReleasingRoute
from tests.support import service_settings


def settings_for(tmp_path, **overrides):
    return service_settings(
        "enrollment",
        database_url=f"sqlite:///{tmp_path}/liveness.db",
        kafka_bootstrap_servers="127.0.0.1:1",
        relay_enabled=False,
        consumer_enabled=False,
        **overrides,
    )


def in_background(call):
    """Run ``call`` on a thread; returns the thread and a list that receives its result."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_probes_answer_while_every_endpoint_thread_waits(tmp_path):
    release = threading.Event()
    entered = threading.Event()

    def waits_on_a_lock() -> dict:
        entered.set()
        release.wait(30)  # as a request queued behind another transaction's row lock would
        return {"waited": True}

    app = create_app(settings_for(tmp_path, http_threads=1))
    app.router.routes.append(ReleasingRoute("/test/waits", waits_on_a_lock, methods=["GET"]))
    with TestClient(app) as client:
        blocked, blocked_result = in_background(lambda: client.get("/test/waits"))
        assert entered.wait(10)
        probes, answers = in_background(
            lambda: [client.get(p).status_code for p in ("/healthz", "/readyz", "/metrics")]
        )
        probes.join(10)
        answered_while_blocked = not probes.is_alive() and blocked.is_alive()
        release.set()  # before any assertion, so a failure ends the test instead of hanging it
        probes.join(30)
        blocked.join(30)
    assert answered_while_blocked, "a probe waited for an endpoint thread"
    # alive, ready (the broker this test lacks is reported, not required), metrics served
    assert answers == [[200, 200, 200]]
    assert blocked_result[0].json() == {"waited": True}


class SlowKeys(BaseHTTPRequestHandler):
    jwks: bytes = b""
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        SlowKeys.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.jwks)))
        self.end_headers()
        self.wfile.write(self.jwks)

    def log_message(self, *args) -> None:
        pass


def test_a_slow_key_server_stalls_only_the_requests_that_need_it(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    SlowKeys.jwks = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
    SlowKeys.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowKeys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = jwt.encode(
        {"sub": "staff-1", "roles": ["admissions"], "campuses": ["*"], "exp": int(time.time()) + 600},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    app = create_app(
        settings_for(tmp_path, jwt_algorithm="RS256", jwks_url=f"http://127.0.0.1:{server.server_port}/jwks")
    )
    try:
        with TestClient(app) as client:
            authed, authed_result = in_background(
                lambda: client.get("/enrollment/v1/campuses", headers={"Authorization": f"Bearer {token}"})
            )
            time.sleep(0.2)  # let it reach the key server
            waiting_for_keys = authed.is_alive()
            health, health_result = in_background(lambda: client.get("/healthz").status_code)
            health.join(10)
            answered_meanwhile = health_result == [200] and authed.is_alive()
            SlowKeys.release.set()  # before any assertion, so a failure ends the test instead of hanging it
            health.join(30)
            authed.join(30)
        assert waiting_for_keys and answered_meanwhile, "/healthz waited for the key server"
        assert authed_result[0].status_code == 200, authed_result[0].text
    finally:
        SlowKeys.release.set()
        server.shutdown()


def test_an_unreachable_key_server_is_a_503_problem(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"sub": "staff-1", "roles": ["admissions"], "campuses": ["*"], "exp": int(time.time()) + 600},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    app = create_app(settings_for(tmp_path, jwt_algorithm="RS256", jwks_url="http://127.0.0.1:1/jwks"))
    with TestClient(app) as client:
        r = client.get("/enrollment/v1/campuses", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "signing-keys-unavailable"
