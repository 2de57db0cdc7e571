"""A small OpenID Connect issuer for the console's tests: discovery, authorize (auto-approves one configured user),
token (authorization code + PKCE S256, single use) and JWKS. RS256 keys made at start."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import JSONResponse, RedirectResponse

from trainingops.broker import free_port, wait_for_port


@dataclass
class TestIssuer:
    client_id: str = "trainingops-console"
    redirect_uris: set[str] = field(default_factory=set)
    subject: str = "staff-oidc-1"
    roles: list[str] = field(default_factory=lambda: ["admissions"])
    campuses: list[str] = field(default_factory=lambda: ["jungbu"])
    audience: str = "trainingops"
    tamper_nonce: bool = False
    url: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"

    def jwk(self) -> dict[str, Any]:
        data = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return {"keys": [self.jwk()]}

        @app.get("/authorize")
        def authorize(
            response_type: str,
            client_id: str,
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: str,
            scope: str = "",
        ) -> RedirectResponse:
            if response_type != "code" or client_id != self.client_id or redirect_uri not in self.redirect_uris:
                raise HTTPException(400, "unknown client or redirect_uri")
            if code_challenge_method != "S256" or len(code_challenge) < 43 or "openid" not in scope.split():
                raise HTTPException(400, "PKCE S256 and the openid scope are required")
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                "challenge": code_challenge,
                "nonce": nonce,
                "redirect_uri": redirect_uri,
                "at": time.time(),
            }
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=303)

        @app.post("/token")
        def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            client_id: str = Form(),
            code_verifier: str = Form(),
        ) -> JSONResponse:
            self.token_requests.append({"code": code, "client_id": client_id})
            grant = self.codes.pop(code, None)  # single use
            if (
                grant_type != "authorization_code"
                or grant is None
                or client_id != self.client_id
                or redirect_uri != grant["redirect_uri"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if not secrets.compare_digest(digest, grant["challenge"]):
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verifier"}, status_code=400)
            now = int(time.time())
            base = {"iss": self.url, "sub": self.subject, "iat": now, "exp": now + 600}
            id_token = self.sign(
                {**base, "aud": self.client_id, "nonce": "tampered" if self.tamper_nonce else grant["nonce"]}
            )
            access = self.sign({**base, "aud": self.audience, "roles": self.roles, "campuses": self.campuses})
            return JSONResponse(
                {"access_token": access, "id_token": id_token, "token_type": "Bearer", "expires_in": 600}
            )

        return app


@contextlib.contextmanager
def running_issuer(**kwargs: Any) -> Iterator[TestIssuer]:
    issuer = TestIssuer(**kwargs)
    port = free_port()
    issuer.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(issuer.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout_s=30)
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(10)
