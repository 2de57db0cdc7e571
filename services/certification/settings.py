from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.certification.adapters.vault import valid_key
from services.certification.domain.claims import CLAIM_DEADLINE_DAYS, MAX_REIMBURSED_ATTEMPTS
from services.certification.domain.window import WINDOW_MONTHS_AFTER_COMPLETION
from shared.settings import LOCAL_ENVIRONMENTS, ServiceSettings

# The key of local runs and tests (base64 of "local-account-key-change-me-0000"): refused anywhere else.
LOCAL_ACCOUNT_KEY = "bG9jYWwtYWNjb3VudC1rZXktY2hhbmdlLW1lLTAwMDA="


class Settings(ServiceSettings):
    """Certification settings: ``CERTIFICATION_*``, then ``TRAININGOPS_*``. The figures' defaults are the domain's."""

    model_config = SettingsConfigDict(env_prefix="CERTIFICATION_", extra="ignore")

    service_name: str = "certification"
    claim_deadline_days: int = Field(
        CLAIM_DEADLINE_DAYS, ge=1, le=365, description="a claim comes within this many days of the exam"
    )
    max_reimbursed_attempts: int = Field(
        MAX_REIMBURSED_ATTEMPTS, ge=1, le=20, description="reimbursed attempts per qualification and stage"
    )
    window_months_after_completion: int = Field(
        WINDOW_MONTHS_AFTER_COMPLETION,
        ge=0,
        le=60,
        description="exams this many months after completion are still paid",
    )
    account_keys: list[SecretStr] = Field(
        default=[SecretStr(LOCAL_ACCOUNT_KEY)],
        description="Fernet keys of the payout account numbers (a JSON list), newest first: the newest encrypts, "
        "every one decrypts. Rotate: put a new key first, run `trainingops accounts rotate`, then drop the old one.",
    )

    @model_validator(mode="after")
    def _account_keys(self) -> Settings:
        if not self.account_keys:
            raise ValueError("CERTIFICATION_ACCOUNT_KEYS needs at least one key")
        if not all(valid_key(k.get_secret_value()) for k in self.account_keys):
            raise ValueError(
                "every CERTIFICATION_ACCOUNT_KEYS entry must be a Fernet key (32 url-safe base64-encoded bytes)"
            )
        if self.environment not in LOCAL_ENVIRONMENTS and any(
            k.get_secret_value() == LOCAL_ACCOUNT_KEY for k in self.account_keys
        ):
            raise ValueError(
                "the local account key is refused outside local runs: set CERTIFICATION_ACCOUNT_KEYS to a list "
                "of your own Fernet keys"
            )
        return self

    def account_key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.account_keys]
