"""Typed settings, read from ``OUTBOUND_*`` environment variables and validated at start."""

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", extra="ignore")

    database_url: str = "sqlite:///./outbound.db"
    telephony: Literal["simulator", "webhook", "twilio"] = "simulator"
    # Where outbound is reachable from providers (callbacks), e.g. https://outbound.example.com
    public_url: str = "http://127.0.0.1:8000"

    simulator_ring_seconds: float = Field(1.0, ge=0)
    simulator_talk_seconds: float = Field(3.0, ge=0)
    # Encrypts provider connections' credentials at rest (any string; a Fernet key is derived).
    secret_key: str | None = Field(None, repr=False)
    # How long after an attempt ended a posted result is still taken and applied.
    result_grace_seconds: float = Field(120.0, ge=0)
    # Append one line per placed attempt to this file (audit of exactly-once dialing).
    simulator_log: str | None = None

    # Webhook provider: outbound POSTs each call to your agent runtime.
    webhook_provider_url: str | None = None
    webhook_provider_secret: str | None = None
    webhook_provider_timeout_seconds: float = Field(10.0, gt=0)

    # Twilio provider.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_twiml_url: str | None = None  # TwiML that connects the call to the agent
    twilio_api_base_url: str | None = None  # only to point the SDK at a stand-in
    ring_timeout_seconds: int = Field(30, ge=5, le=600)  # how long a real call may ring

    max_call_seconds: float = Field(1800.0, gt=0)  # longest real call, ringing and talking
    provider_retry_seconds: float = Field(5.0, gt=0)  # first backoff when a provider is down
    provider_retry_max_seconds: float = Field(300.0, gt=0)

    # Events out to customers' webhook endpoints.
    event_retry_seconds: float = Field(5.0, gt=0)  # first backoff; doubles up to 720x
    event_timeout_seconds: float = Field(10.0, gt=0)

    # Write requests (POST, DELETE...) per API token, in each API process; 0: no limit.
    rate_limit_writes_per_second: float = Field(50.0, ge=0)
    rate_limit_burst: int = Field(100, ge=1)

    # Largest request body accepted, in bytes (413 beyond); 100,000 full contacts fit.
    max_body_bytes: int = Field(256 * 1024 * 1024, ge=1)

    metrics_port: int | None = None  # `outbound worker` serves /metrics on this port when set

    dispatch_batch_size: int = Field(500, ge=1, le=10_000)  # calls claimed per round trip
    # Claims a dispatcher has under way at once (PostgreSQL): one selects its calls while
    # another writes its attempts. SQLite has one writer: one claim at a time there.
    dispatch_claims: int = Field(2, ge=1, le=16)
    poll_interval_seconds: float = Field(0.2, gt=0)  # longest idle sleep of the dispatcher
    max_in_flight: int = Field(10_000, ge=1)  # attempts one dispatcher keeps open at once
    lease_grace_seconds: float = Field(60.0, ge=0)  # beyond a call's longest duration
    lease_check_interval_seconds: float = Field(1.0, gt=0)
    shutdown_timeout_seconds: float = Field(10.0, ge=0)  # in-flight work is awaited this long

    @model_validator(mode="after")
    def _provider_is_configured(self) -> "Settings":
        required = {
            "webhook": ("webhook_provider_url", "webhook_provider_secret"),
            "twilio": ("twilio_account_sid", "twilio_auth_token", "twilio_twiml_url"),
        }.get(self.telephony, ())
        missing = [f"OUTBOUND_{name.upper()}" for name in required if not getattr(self, name)]
        if missing:
            raise ValueError(f"OUTBOUND_TELEPHONY={self.telephony} needs {', '.join(missing)}")
        return self
