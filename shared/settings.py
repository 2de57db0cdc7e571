"""Settings for every service, read from the environment.

A service reads ``<SERVICE>_<FIELD>`` first (``ENROLLMENT_DATABASE_URL``), then the
platform-wide ``TRAININGOPS_<FIELD>`` (``TRAININGOPS_JWT_SECRET``), then the default.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

LOCAL_JWT_SECRET = "local-development-secret-change-me-0123456789"
LOCAL_ENVIRONMENTS = ("local", "test")


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``service_name`` and their env prefix."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="SERVICE_")

    service_name: str = "service"
    environment: Literal["local", "test", "production"] = "local"
    database_url: str = ""
    data_dir: str = "./data"
    auto_migrate: bool = Field(True, description="apply Alembic migrations on start-up")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_client_id_prefix: str = "trainingops"
    relay_enabled: bool = True
    consumer_enabled: bool = True
    outbox_batch_size: int = Field(500, ge=1, le=10_000)
    outbox_poll_interval_s: float = Field(0.5, gt=0)
    # Woken by a commit, the relay waits this long for the commits that follow, so a busy minute is published
    # in batches rather than a round trip per request: at 300 accepts/s, 20 ms cost a fifth of the throughput.
    outbox_coalesce_s: float = Field(0.1, ge=0, le=5)
    consumer_session_timeout_ms: int = 6000
    consumer_heartbeat_interval_ms: int = 1000
    consumer_max_poll_interval_ms: int = 30000
    consumer_max_poll_records: int = 500
    consumer_retries: int = Field(3, ge=0, le=20)
    consumer_retry_backoff_s: float = Field(0.2, ge=0)
    consumer_group_id: str = ""
    # Liveness fails when the consumer's poll loop has not turned for this long (default: 5 x max_poll_interval).
    consumer_liveness_timeout_s: float | None = Field(None, gt=0)

    jwt_secret: str = LOCAL_JWT_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str = ""
    jwks_url: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""

    timezone: str = Field("Asia/Seoul", description="the centre's local time: what 'today' means for every rule")
    log_level: str = "INFO"
    cors_origins: list[str] = []
    # Endpoints run in a thread pool of http_threads, each holding at most one connection; the pool keeps
    # those and the relay's, consumer's and background job's connections open, so none is made per request.
    http_threads: int = Field(4, ge=1, description="endpoints running at once; more requests wait their turn")
    db_pool_size: int = 8
    db_max_overflow: int = 20

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        platform_env = EnvSettingsSource(settings_cls, env_prefix="TRAININGOPS_", case_sensitive=False)
        return (init_settings, env_settings, platform_env, dotenv_settings, file_secret_settings)

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir}/{self.service_name}.db"
        if self.consumer_liveness_timeout_s is None:
            self.consumer_liveness_timeout_s = 5 * self.consumer_max_poll_interval_ms / 1000
        elif self.consumer_liveness_timeout_s * 1000 <= self.consumer_max_poll_interval_ms:
            raise ValueError(
                "CONSUMER_LIVENESS_TIMEOUT_S must be well above CONSUMER_MAX_POLL_INTERVAL_MS: a batch "
                "may take up to max_poll_interval before the loop turns again"
            )
        if not self.consumer_group_id:
            self.consumer_group_id = f"trainingops.{self.service_name}"
        if self.environment not in LOCAL_ENVIRONMENTS:
            if self.jwt_algorithm == "HS256" and self.jwt_secret == LOCAL_JWT_SECRET:
                raise ValueError(
                    "the local JWT secret is refused outside local runs: set TRAININGOPS_JWT_SECRET, "
                    "or TRAININGOPS_JWT_ALGORITHM=RS256 with a public key or JWKS URL"
                )
            if self.jwt_algorithm == "HS256" and len(self.jwt_secret) < 32:
                raise ValueError("TRAININGOPS_JWT_SECRET must be at least 32 characters outside local runs")
            if self.jwt_algorithm == "RS256" and not (self.jwt_public_key or self.jwks_url):
                raise ValueError("RS256 needs TRAININGOPS_JWT_PUBLIC_KEY or TRAININGOPS_JWKS_URL")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
