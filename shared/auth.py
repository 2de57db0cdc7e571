"""Bearer-token auth: roles and campus scope as FastAPI dependencies.

Tokens carry ``sub``, ``roles`` and ``campuses`` (campus codes; ``*`` is every campus).
Staff see only their campuses' records: an object of another campus is a 404, as if
it did not exist. A trainee token's ``sub`` is the trainee id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.problems import Problem, not_found
from shared.settings import LOCAL_JWT_SECRET, ServiceSettings

ROLES = ("admissions", "instructor", "finance", "placement", "campus_admin", "auditor", "trainee")
STAFF_ROLES = frozenset(ROLES) - {"trainee"}
ALL_CAMPUSES = "*"

_bearer = HTTPBearer(auto_error=False, description="JWT with sub, roles and campuses")


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[str]
    campuses: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_trainee(self) -> bool:
        return "trainee" in self.roles and not self.is_staff

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def sees_campus(self, campus: str) -> bool:
        return ALL_CAMPUSES in self.campuses or campus in self.campuses

    def campus_filter(self) -> frozenset[str] | None:
        """The campuses to restrict queries to; None means every campus."""
        return None if ALL_CAMPUSES in self.campuses else self.campuses

    def check_campus(self, campus: str, what: str, ident: object) -> None:
        """Staff outside their campus get a 404 naming nothing they may not see."""
        if not self.sees_campus(campus):
            raise not_found(what, ident)


class TokenVerifier:
    # Tokens verified with a key fixed for the process (HS256 secret, configured public key) are remembered until
    # they expire: a kiosk or a finance desk sends the same token all day, and checking its signature again
    # proves nothing new. Only expiry can turn a remembered token bad, so a hit past ``exp`` is verified again
    # (and refused as expired). JWKS keys rotate, so those tokens are verified every time.
    CACHE_SIZE = 4096

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._verified: dict[str, tuple[float, Principal]] = {}

    @property
    def may_block(self) -> bool:
        """A JWKS verifier fetches keys over the network now and then; the others only compute."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and time.time() < known[0]:
            return known[1]
        principal, expires = self._verify(token)
        if self._jwks is None:
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (expires, principal)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        s = self.settings
        options: dict[str, Any] = {"require": ["sub", "exp"]}
        kwargs: dict[str, Any] = {"algorithms": [s.jwt_algorithm], "options": options}
        if s.jwt_audience:
            kwargs["audience"] = s.jwt_audience
        else:
            options["verify_aud"] = False
        if s.jwt_issuer:
            kwargs["issuer"] = s.jwt_issuer
        try:
            if s.jwt_algorithm == "HS256":
                key = s.jwt_secret
            elif self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
            else:
                key = s.jwt_public_key
            claims = jwt.decode(token, key, **kwargs)
        except jwt.ExpiredSignatureError:
            raise Problem(401, "token-expired", "Token expired", "The bearer token has expired.") from None
        except jwt.PyJWKClientConnectionError:
            raise Problem(
                503,
                "signing-keys-unavailable",
                "Signing keys unavailable",
                "The identity provider's signing keys could not be fetched; retry shortly.",
            ) from None
        except jwt.PyJWTError as exc:
            raise Problem(
                401, "invalid-token", "Invalid token", f"The bearer token was refused: {type(exc).__name__}."
            ) from None
        roles = claims.get("roles") or []
        campuses = claims.get("campuses") or []
        if not isinstance(roles, list) or not isinstance(campuses, list):
            raise Problem(401, "invalid-token", "Invalid token", "roles and campuses must be lists.")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise Problem(
                401, "invalid-token", "Invalid token", f"Unknown roles in token: {', '.join(map(str, unknown))}."
            )
        return (
            Principal(sub=str(claims["sub"]), roles=frozenset(roles), campuses=frozenset(map(str, campuses))),
            float(claims["exp"]),
        )


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "unauthorized", "Authentication required", "Send Authorization: Bearer <JWT>.")
    verifier: TokenVerifier = request.app.state.verifier
    if verifier.may_block:  # never on the event loop: a slow key server would stall every request
        return await anyio.to_thread.run_sync(verifier.verify, credentials.credentials)
    return verifier.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only tokens holding one of ``roles`` (campus_admin always passes)."""
    allowed = set(roles) | {"campus_admin"}

    async def _check(principal: PrincipalDep) -> Principal:
        if not principal.has_any(allowed):
            raise Problem(
                403, "forbidden", "Role not allowed", f"This needs one of the roles: {', '.join(sorted(allowed))}."
            )
        return principal

    return _check


def mint_token(
    sub: str,
    roles: Iterable[str],
    campuses: Iterable[str] = (ALL_CAMPUSES,),
    *,
    secret: str = LOCAL_JWT_SECRET,
    ttl_s: int = 8 * 3600,
) -> str:
    """An HS256 token for local runs and tests."""
    now = int(time.time())
    claims = {"sub": sub, "roles": list(roles), "campuses": list(campuses), "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")
