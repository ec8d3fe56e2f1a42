"""Typed settings, read from ``OUTBOUND_*`` environment variables and validated at start."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OUTBOUND_", extra="ignore")

    database_url: str = "sqlite:///./outbound.db"
    telephony: Literal["simulator"] = "simulator"

    simulator_ring_seconds: float = Field(1.0, ge=0)
    simulator_talk_seconds: float = Field(3.0, ge=0)
    # Append one line per placed attempt to this file (audit of exactly-once dialing).
    simulator_log: str | None = None

    dispatch_batch_size: int = Field(100, ge=1, le=10_000)  # calls claimed per round trip
    poll_interval_seconds: float = Field(0.2, gt=0)  # longest idle sleep of the dispatcher
    max_in_flight: int = Field(10_000, ge=1)  # attempts one dispatcher keeps open at once
    lease_grace_seconds: float = Field(60.0, ge=0)  # beyond a call's longest duration
    lease_check_interval_seconds: float = Field(1.0, gt=0)
    shutdown_timeout_seconds: float = Field(10.0, ge=0)  # in-flight work is awaited this long

    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
