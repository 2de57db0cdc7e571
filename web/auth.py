"""Sign-in and sign-out.

Local runs: pick a role and a campus (a trainee also gives the trainee id); the console mints
an HS256 token with the local secret, as ``trainingops token`` does. Refused outside local runs.
Production: OpenID Connect authorization code with PKCE against ``WEB_OIDC_ISSUER`` (discovery,
state, nonce, S256 code challenge); the access token, which the services verify by JWKS, is kept
in the server-side session, never in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import httpx
import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from web.api import ApiProblem, RuleError
from web.core import ROLES, FormState, csrf_check, form_data, render, session_of
from web.settings import WebSettings

router = APIRouter(dependencies=[Depends(csrf_check)])
CAMPUS = re.compile(r"^(\*|[A-Za-z0-9_\-]{1,40})$")


def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def safe_next(value: str | None) -> str:
    """Only a path of this console: no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/signin")
async def signin_page(request: Request, next: str = "/") -> Response:
    return render(
        request,
        "signin.html",
        {"form": FormState(values={"role": "admissions", "campus": ""}), "next": safe_next(next), "roles": ROLES},
    )


@router.post("/signin/local")
async def signin_local(request: Request) -> Response:
    settings = _settings(request)
    if not settings.local_signin:
        return render(request, "errors/page.html", {"status": 404, "message_key": "common.error.not-found"}, status=404)
    values = await form_data(request)
    role, campus = values.get("role", ""), values.get("campus", "").strip()
    trainee_id = values.get("trainee_id", "").strip()
    errors: list[RuleError] = []
    if role not in ROLES:
        errors.append(RuleError("signin.role", field="role"))
    if role != "trainee" and not CAMPUS.match(campus):
        errors.append(RuleError("signin.campus", field="campus"))
    if role == "trainee":
        try:
            trainee_id = str(uuid.UUID(trainee_id))
        except ValueError:
            errors.append(RuleError("signin.trainee-id", field="trainee_id"))
    if errors:
        problem = ApiProblem("web", 422, "validation-error", errors=errors)
        return render(
            request,
            "signin.html",
            {
                "form": FormState(values, problem, frozenset({"role", "campus", "trainee_id"})),
                "next": safe_next(values.get("next")),
                "roles": ROLES,
            },
            status=422,
        )
    sub = trainee_id if role == "trainee" else f"local-{role}-{secrets.token_hex(4)}"
    campuses = [campus] if role != "trainee" else ([campus] if campus and CAMPUS.match(campus) else [])
    now = int(time.time())
    token = jwt.encode(
        {"sub": sub, "roles": [role], "campuses": campuses, "iat": now, "exp": now + settings.local_token_ttl_s},
        settings.local_jwt_secret,
        algorithm="HS256",
    )
    session_of(request).sign_in(token=token, user={"sub": sub, "roles": [role], "campuses": campuses, "via": "local"})
    return RedirectResponse(safe_next(values.get("next")), status_code=303)


@router.post("/signout")
async def signout(request: Request) -> Response:
    session_of(request).sign_out()
    return RedirectResponse("/signin", status_code=303)


@router.post("/lang")
async def set_language(request: Request) -> Response:
    values = await form_data(request)
    lang = values.get("lang") if values.get("lang") in ("ko", "en") else "ko"
    response = RedirectResponse(safe_next(values.get("next")), status_code=303)
    settings = _settings(request)
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=settings.cookie_secure, httponly=True)
    return response


# -- OpenID Connect ---------------------------------------------------------------
class OidcError(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def discovery(request: Request) -> dict[str, Any]:
    cached = getattr(request.app.state, "oidc_discovery", None)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    settings = _settings(request)
    url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        r = await request.app.state.http.get(url, timeout=10)
        r.raise_for_status()
        doc = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"discovery failed: {type(exc).__name__}") from None
    if doc.get("issuer", "").rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise OidcError("discovery document names another issuer")
    request.app.state.oidc_discovery = (time.monotonic() + 3600, doc)
    request.app.state.oidc_jwks = jwt.PyJWKClient(doc["jwks_uri"], cache_keys=True)
    return doc


@router.get("/signin/oidc")
async def signin_oidc(request: Request, next: str = "/") -> Response:
    settings = _settings(request)
    if not settings.oidc_enabled:
        return render(request, "errors/page.html", {"status": 404, "message_key": "common.error.not-found"}, status=404)
    doc = await discovery(request)
    verifier = _b64(secrets.token_bytes(48))
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session_of(request).set(
        "oidc", {"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next), "at": time.time()}
    )
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": settings.oidc_redirect_url,
        "scope": settings.oidc_scopes,
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return RedirectResponse(f"{doc['authorization_endpoint']}?{urlencode(query)}", status_code=303)


@router.get("/auth/callback")
async def oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    settings = _settings(request)
    session = session_of(request)
    pending = session.pop("oidc")
    if (
        not settings.oidc_enabled
        or not pending
        or error
        or not code
        or not secrets.compare_digest(state, pending.get("state", ""))
        or time.time() - pending["at"] > 600
    ):
        session.flash("common.signin.failed", "error")
        return RedirectResponse("/signin", status_code=303)
    doc = await discovery(request)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.oidc_redirect_url,
        "client_id": settings.oidc_client_id,
        "code_verifier": pending["verifier"],
    }
    auth = (settings.oidc_client_id, settings.oidc_client_secret) if settings.oidc_client_secret else None
    try:
        r = await request.app.state.http.post(doc["token_endpoint"], data=form, auth=auth, timeout=10)
        r.raise_for_status()
        tokens = r.json()
        claims = await anyio.to_thread.run_sync(_verify_tokens, request, settings, doc, tokens, pending["nonce"])
    except (httpx.HTTPError, ValueError, KeyError, jwt.PyJWTError, OidcError):
        session.flash("common.signin.failed", "error")
        return RedirectResponse("/signin", status_code=303)
    user = {
        "sub": str(claims["sub"]),
        "roles": [r for r in claims.get("roles", []) if r in ROLES],
        "campuses": [str(c) for c in claims.get("campuses", [])],
        "via": "oidc",
    }
    session.sign_in(token=tokens["access_token"], user=user)
    return RedirectResponse(pending.get("next", "/"), status_code=303)


def _verify_tokens(
    request: Request, settings: WebSettings, doc: dict[str, Any], tokens: dict[str, Any], nonce: str
) -> dict[str, Any]:
    """The ID token (issuer, audience = our client, nonce) and the access token (issuer; its roles and campuses
    are what the services will see) both checked against the issuer's JWKS."""
    jwks: jwt.PyJWKClient = request.app.state.oidc_jwks
    id_token = tokens["id_token"]
    id_claims = jwt.decode(
        id_token,
        jwks.get_signing_key_from_jwt(id_token).key,
        algorithms=["RS256", "ES256"],
        audience=settings.oidc_client_id,
        issuer=doc["issuer"],
        options={"require": ["exp", "sub"]},
    )
    if not secrets.compare_digest(str(id_claims.get("nonce", "")), nonce):
        raise OidcError("nonce mismatch")
    access = tokens["access_token"]
    kwargs: dict[str, Any] = (
        {"audience": settings.oidc_audience}
        if settings.oidc_audience
        else {"options": {"verify_aud": False, "require": ["exp", "sub"]}}
    )
    access_claims = jwt.decode(
        access, jwks.get_signing_key_from_jwt(access).key, algorithms=["RS256", "ES256"], issuer=doc["issuer"], **kwargs
    )
    if access_claims.get("sub") != id_claims.get("sub"):
        raise OidcError("tokens name different subjects")
    return access_claims
