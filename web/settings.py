"""The console's settings, read from ``WEB_<FIELD>`` (e.g. ``WEB_ENROLLMENT_URL``).

The console is a client of the four services' public APIs; its only storage is the
session store (``session_store_url``, a SQLAlchemy URL: a SQLite file by default,
PostgreSQL in production). Local sign-in (pick a role and a campus) mints HS256 tokens
with ``local_jwt_secret`` and exists only when ``environment`` is local or test, like the
services' local JWT secret; production signs in with OpenID Connect.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_JWT_SECRET = "local-development-secret-change-me-0123456789"  # the services' local default (README)
LOCAL_ENVIRONMENTS = ("local", "test")
SERVICES = ("enrollment", "attendance", "certification", "placement")


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="WEB_")

    environment: Literal["local", "test", "production"] = "local"
    enrollment_url: str = "http://127.0.0.1:8001"
    attendance_url: str = "http://127.0.0.1:8002"
    certification_url: str = "http://127.0.0.1:8003"
    placement_url: str = "http://127.0.0.1:8004"
    api_timeout_s: float = Field(15.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    session_store_url: str = "sqlite:///./data/web-sessions.db"
    session_ttl_s: int = Field(8 * 3600, ge=60)
    cookie_name: str = "to_session"
    cookie_secure: bool = Field(True, description="off only for plain http on localhost")
    cookie_samesite: Literal["lax", "strict"] = "lax"

    local_jwt_secret: str = LOCAL_JWT_SECRET
    local_token_ttl_s: int = Field(8 * 3600, ge=60)

    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile"
    oidc_redirect_url: str = Field("", description="e.g. https://console.example.org/auth/callback")
    oidc_audience: str = Field("", description="expected aud of the access token, when the issuer sets one")

    timezone: str = "Asia/Seoul"
    default_language: Literal["ko", "en"] = "ko"
    public_url: str = ""

    @model_validator(mode="after")
    def _check(self) -> WebSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        if self.environment not in LOCAL_ENVIRONMENTS:
            if not self.oidc_issuer or not self.oidc_client_id or not self.oidc_redirect_url:
                raise ValueError(
                    "outside local runs the console signs in with OpenID Connect: set WEB_OIDC_ISSUER, "
                    "WEB_OIDC_CLIENT_ID and WEB_OIDC_REDIRECT_URL"
                )
            if not self.cookie_secure:
                raise ValueError("WEB_COOKIE_SECURE=false is for plain http on localhost only")
        return self

    @property
    def local_signin(self) -> bool:
        return self.environment in LOCAL_ENVIRONMENTS

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def service_url(self, service: str) -> str:
        return getattr(self, f"{service}_url").rstrip("/")
