"""All configuration, from environment variables only (prefix DESPACHO_; Twilio's own names)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.messaging_rules import OPT_IN_WORDS, OPT_OUT_WORDS

EMBEDDED_SECRET = "embedded-mode-only-not-a-secret"  # noqa: S105 - refused outside embedded mode


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESPACHO_", extra="ignore")

    mode: Literal["embedded", "production"] = "embedded"
    var_dir: Path = Path("var")
    database_url: str | None = None
    read_database_url: str | None = None
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(EMBEDDED_SECRET)
    twilio_transport: Literal["fake", "twilio"] = "fake"
    twilio_account_sid: str = Field(
        default="AC00000000000000000000000000000000",
        validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "DESPACHO_TWILIO_ACCOUNT_SID"),
    )
    twilio_auth_token: SecretStr = Field(
        default=SecretStr("fake-twilio-auth-token"),
        validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "DESPACHO_TWILIO_AUTH_TOKEN"),
    )
    twilio_api_base_url: str | None = None
    session_idle_minutes: int = 8 * 60
    timer_interval_seconds: int = 60
    projection_batch_size: int = 500
    max_upload_megabytes: int = 50
    flows_dir: Path = Path(__file__).resolve().parent.parent / "flows"
    unidentified_campaign_code: str = "sin_identificar"
    allow_manual_assignment: bool = False
    # Embedded demo with the fake transport: report `sent` and `delivered` this long after a send (0: never).
    fake_delivery_seconds: float = Field(default=0, ge=0, le=3600)
    # Whole-message keywords, compared ignoring case, accents and punctuation (R11). JSON lists in the environment.
    opt_out_words: list[str] = Field(default_factory=lambda: list(OPT_OUT_WORDS))
    opt_in_words: list[str] = Field(default_factory=lambda: list(OPT_IN_WORDS))
    delivery_stuck_minutes: int = Field(default=15, ge=1)
    delivery_rate_window_minutes: int = Field(default=60, ge=1)
    delivery_rate_min_messages: int = Field(default=20, ge=1)
    delivery_rate_threshold: float = Field(default=0.2, gt=0, lt=1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_embedded_defaults_in_production(self) -> Settings:
        if self.mode == "production":
            missing = [name for name, value in (("DESPACHO_DATABASE_URL", self.database_url),
                                                ("DESPACHO_REDIS_URL", self.redis_url)) if not value]
            if missing:
                raise ValueError(f"production mode needs {', '.join(missing)}")
            if self.secret_key.get_secret_value() == EMBEDDED_SECRET:
                raise ValueError("production mode needs DESPACHO_SECRET_KEY")
        return self

    @property
    def is_embedded(self) -> bool:
        return self.mode == "embedded"

    @property
    def event_store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'despacho.sqlite').resolve()}"

    @property
    def read_store_url(self) -> str:
        return self.read_database_url or self.event_store_url

    @property
    def files_dir(self) -> Path:
        return self.var_dir / "files"

    @property
    def served_over_https(self) -> bool:
        return self.public_url.startswith("https://")
