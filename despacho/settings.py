"""All configuration, from environment variables only (prefix DESPACHO_; Twilio's own names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.event_store import PoolSize
from domain.messaging_rules import OPT_IN_WORDS, OPT_OUT_WORDS
from domain.risk_portfolios import Portfolios, PortfolioSettingError
from domain.throttling import ACCOUNT_RATE

# Values written in this repository: anyone who read it knows them, so production refuses every one.
EMBEDDED_SECRET = "embedded-mode-only-not-a-secret"  # noqa: S105 - refused outside embedded mode
EMBEDDED_PUBLIC_URL = "http://127.0.0.1:8000"
FAKE_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"
FAKE_TWILIO_AUTH_TOKEN = "fake-twilio-auth-token"  # noqa: S105 - refused outside embedded mode
MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESPACHO_", extra="ignore")

    mode: Literal["embedded", "production"] = "embedded"
    var_dir: Path = Path("var")
    database_url: str | None = None
    read_database_url: str | None = None
    redis_url: str | None = None
    public_url: str = EMBEDDED_PUBLIC_URL
    secret_key: SecretStr = SecretStr(EMBEDDED_SECRET)
    twilio_transport: Literal["fake", "twilio"] = "fake"
    twilio_account_sid: str = Field(
        default=FAKE_TWILIO_ACCOUNT_SID,
        validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "DESPACHO_TWILIO_ACCOUNT_SID"),
    )
    twilio_auth_token: SecretStr = Field(
        default=SecretStr(FAKE_TWILIO_AUTH_TOKEN),
        validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "DESPACHO_TWILIO_AUTH_TOKEN"),
    )
    twilio_api_base_url: str | None = None
    session_idle_minutes: int = Field(default=8 * 60, ge=1)
    timer_interval_seconds: int = 60
    # Follow-ups still pending this long after they were handed out were lost by the broker (a Redis that
    # restarted empty) and are handed out again; shorter than a send's retries risks doing a job twice at once.
    follow_up_redelivery_seconds: int = Field(default=600, ge=1)
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
    # Meta business portfolios (JSON: {"name": {"tier": 2000, "senders": ["whatsapp:+57…"]}}); senders none names
    # share one default portfolio on `risk_default_tier`. Tiers are Meta's messaging limits (0 = unlimited).
    risk_portfolios: dict[str, dict[str, Any]] = Field(default_factory=dict)
    risk_default_tier: int = 250
    log_level: str = "INFO"
    # The bearer token Prometheus scrapes `/metrics` with; without one only embedded mode serves it (to localhost).
    metrics_token: SecretStr | None = None
    # Closing transcripts and uploaded portfolio files: a folder under var_dir, or an S3-compatible bucket
    # (needed as soon as API and worker processes run on more than one host).
    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_region: str | None = None
    s3_endpoint_url: str | None = None  # MinIO, Ceph…; none for AWS itself
    # Connections of each PostgreSQL pool (the event store's and the read tables') in one process:
    # `db_pool_size` kept open, up to `db_max_overflow` more under load.
    db_pool_size: int = Field(default=PoolSize().size, ge=1, le=100)
    db_max_overflow: int = Field(default=PoolSize().max_overflow, ge=0, le=100)
    # Failed sign-ins allowed per moving window before further attempts wait (`limits` notation).
    login_failures_per_account: str = "5/15 minutes"
    login_failures_per_address: str = "50/15 minutes"  # a call center's agents may share one public address

    # The outbound pace (domain/throttling.py): messages per second per sender address where it differs from
    # Twilio's default (WhatsApp 80, SMS long code 1, short code 100), and for the whole account.
    sender_rates: dict[str, float] = Field(default_factory=dict)
    account_messages_per_second: float = Field(default=ACCOUNT_RATE, gt=0)
    high_risk_rate_fraction: float = Field(default=0.5, gt=0, le=1)
    # Business-initiated messages (templates outside the 24-hour window) one customer may receive.
    customer_business_messages_per_day: int = Field(default=2, ge=1)
    customer_business_messages_per_week: int = Field(default=5, ge=1)

    @field_validator("sender_rates")
    @classmethod
    def _rates_are_positive(cls, rates: dict[str, float]) -> dict[str, float]:
        if wrong := sorted(sender for sender, rate in rates.items() if rate <= 0):
            raise ValueError(f"DESPACHO_SENDER_RATES: the rate of {', '.join(wrong)} must be positive")
        return rates

    @field_validator("login_failures_per_account", "login_failures_per_address")
    @classmethod
    def _is_a_rate(cls, value: str) -> str:
        parse_rate_limit(value)  # raises ValueError naming what it could not read
        return value

    @model_validator(mode="after")
    def _portfolios_are_readable(self) -> Settings:
        try:
            self.portfolios()
        except (PortfolioSettingError, TypeError, ValueError) as error:
            raise ValueError(f"DESPACHO_RISK_PORTFOLIOS / DESPACHO_RISK_DEFAULT_TIER: {error}") from None
        return self

    def portfolios(self) -> Portfolios:
        return Portfolios.from_setting(self.risk_portfolios, self.risk_default_tier)

    @model_validator(mode="after")
    def _refuse_unusable_or_embedded_values(self) -> Settings:
        problems = self.storage_problems() + (self.production_problems() if self.mode == "production" else [])
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def storage_problems(self) -> list[str]:
        if self.storage == "s3" and not self.s3_bucket:
            return ["DESPACHO_S3_BUCKET: el bucket donde DESPACHO_STORAGE=s3 guarda los archivos"]
        return []

    def production_problems(self) -> list[str]:
        """Every variable production still needs, with what to put in it (one line each)."""
        secret = self.secret_key.get_secret_value()
        problems = [
            (not self.database_url, "DESPACHO_DATABASE_URL: la base PostgreSQL de eventos (postgresql://…)"),
            (not self.redis_url, "DESPACHO_REDIS_URL: el Redis de los trabajos y las actualizaciones (redis://…)"),
            (secret == EMBEDDED_SECRET or len(secret) < MIN_SECRET_KEY_LENGTH,
             f"DESPACHO_SECRET_KEY: una clave aleatoria propia de al menos {MIN_SECRET_KEY_LENGTH} caracteres "
             "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"),
            (self.public_url == EMBEDDED_PUBLIC_URL,
             "DESPACHO_PUBLIC_URL: la URL pública con la que Twilio llama a los webhooks (https://…)"),
            (self.twilio_transport == "fake", "DESPACHO_TWILIO_TRANSPORT: twilio (el transporte falso no envía nada)"),
            (self.twilio_account_sid == FAKE_TWILIO_ACCOUNT_SID, "TWILIO_ACCOUNT_SID: el Account SID de la cuenta"),
            (self.twilio_auth_token.get_secret_value() == FAKE_TWILIO_AUTH_TOKEN,
             "TWILIO_AUTH_TOKEN: el Auth Token de la cuenta (firma los webhooks)"),
            # Local files work only while every process runs on one host: production says so on purpose.
            ("storage" not in self.model_fields_set,
             "DESPACHO_STORAGE: s3 (varios servidores) o local (un solo servidor, o var_dir compartido)"),
        ]
        return [problem for missing, problem in problems if missing]

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
    def db_pool(self) -> PoolSize:
        return PoolSize(self.db_pool_size, self.db_max_overflow)

    @property
    def files_dir(self) -> Path:
        return self.var_dir / "files"

    @property
    def served_over_https(self) -> bool:
        return self.public_url.startswith("https://")
