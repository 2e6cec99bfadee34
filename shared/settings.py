"""Process-wide configuration, read once from the environment (``MINYI_*`` plus ``DATABASE_URL``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "minyi-development-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINYI_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "MINYI_DATABASE_URL")
    )
    data_dir: Path = Path("var")
    secret_key: str = DEVELOPMENT_SECRET

    host: str = "127.0.0.1"
    intake_port: int = 8001
    routing_port: int = 8002
    supervision_port: int = 8003
    # Base URLs the services are reached at; citizens' QR codes point at public_base_url.
    public_base_url: str | None = None
    intake_url: str | None = None
    routing_url: str | None = None
    supervision_url: str | None = None

    webhook_allow_hosts: str = ""
    # Seconds between delivery attempts; the n-th retry waits the n-th value.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    # A whole attempt (DNS, connect, send, the complete answer) must finish within this many seconds.
    webhook_timeout_seconds: float = 10.0
    dns_timeout_seconds: float = 3.0
    # The same for a batch of events to one of our own services (a batch may hold hundreds of events).
    internal_timeout_seconds: float = 30.0
    # Answers are read up to this many bytes; the rest is dropped with the connection.
    webhook_max_response_bytes: int = 65536
    # Our own services are retried without end, never waiting longer than this between tries.
    internal_retry_max_seconds: float = 60.0
    webhook_failure_disable_days: float = 5.0
    # After a secret rotation the previous secret signs too (a second signature) for this many hours.
    webhook_secret_grace_hours: float = 24.0
    # Endpoints one API key may have (deleting one frees a place).
    webhook_max_endpoints_per_key: int = 10
    # Ports an integrator's URL may name besides 80 and 443 (comma-separated).
    webhook_allowed_ports: str = ""
    # An internal delivery pending longer than this is an operational alarm (logged, listed, `minyi status`).
    internal_stuck_seconds: float = 600.0
    delivery_lease_seconds: float = 60.0
    # Internal events per signed request to one of our services, and such requests under way at once per
    # service and worker (each batch commits as one transaction).
    relay_batch_size: int = 25
    relay_internal_concurrency: int = 4
    # Concurrent integrator requests per relay, and per integrator endpoint within that.
    relay_integrator_slots: int = 64
    relay_endpoint_concurrency: int = 8
    worker_poll_seconds: float = 1.0
    scheduler_interval_seconds: float = 30.0
    # How often the worker looks for classifier models to retrain (after lexicon, example or category edits).
    classifier_retrain_seconds: float = 5.0

    # Citizens' photos: each upload at most this many bytes, this many per case; an upload not attached to a
    # case within photo_upload_ttl_seconds can no longer be. Larger images are refused before decoding
    # (decompression bombs).
    photo_max_bytes: int = 5 * 1024 * 1024
    photo_max_count: int = 4
    photo_upload_ttl_seconds: int = 3600
    photo_max_pixels: int = 50_000_000
    # How often the worker deletes expired uploads no case took (rows and files).
    photo_cleanup_seconds: float = 600.0
    # How often the worker recomputes the days of the metrics rollup that case events marked stale.
    metrics_refresh_seconds: float = 5.0
    # How often the worker looks for hot spots (热点): cases clustering by grid and category.
    hotspot_seconds: float = 60.0
    # Retention: finished outbox, delivery and inbox rows are pruned after this many days (case_events stay);
    # the personal fields of cases closed more than this many months ago are erased; the jobs run this often.
    retention_event_days: int = Field(default=30, ge=1)
    retention_personal_months: int = Field(default=24, ge=1)
    retention_seconds: float = 3600.0

    db_pool_size: int = 10
    # A request waits at most this long for a free pooled connection, then answers 503.
    db_pool_timeout_seconds: float = 10.0
    # Every application connection's statement_timeout and lock_timeout (0: none); past them, a 503.
    db_statement_timeout_ms: int = 15000
    db_lock_timeout_ms: int = 5000
    # Request bodies: at most max_body_bytes (413 past it), photo uploads and the form that carries photos
    # upload_max_body_bytes (4 photos of 5 MB plus the form's text and multipart framing).
    max_body_bytes: int = 1024 * 1024
    upload_max_body_bytes: int = 24 * 1024 * 1024
    # Abuse limits on the citizens' anonymous routes, "requests/seconds" in fixed windows shared by every
    # process through PostgreSQL ("0/…": no limit). X-Forwarded-For is believed only from trusted_proxies
    # (comma-separated addresses or networks).
    trusted_proxies: str = ""
    limit_submissions_per_address: str = "10/600"
    limit_submissions_per_code: str = "300/3600"
    # Tracking lookups (pages, JSON, rating and supplement posts) with a wrong number or key, per address.
    limit_tracking_misses_per_address: str = "20/600"
    # Photo uploads (JSON and the form's photos, one count per photo) per address and per intake code.
    limit_uploads_per_address: str = "40/600"
    limit_uploads_per_code: str = "1200/3600"
    # Ratings and supplements (JSON and the pages' forms) per address, whatever the case.
    limit_case_posts_per_address: str = "20/600"
    # Sign-in attempts on the supervisors' dashboard (/dashboard/login) per client address.
    limit_dashboard_logins_per_address: str = "10/600"
    # Mark the dashboard's cookies Secure even when the request reached us as http (TLS ended at a proxy);
    # they are Secure anyway whenever the request itself is https.
    dashboard_secure_cookies: bool = False
    # uvicorn processes `minyi up` runs for intake, the one service citizens hit at once; 0: one per core.
    intake_workers: int = 0
    tracking_block_size: int = 10
    # A TrueType/OpenType (.ttf, .otf, .ttc) font with Chinese glyphs, subset into printed posters; unset or
    # missing: Debian's fonts-wqy-microhei if installed, else the PDF viewer's STSong-Light.
    poster_font: Path | None = None
    # Prometheus: the worker serves /metrics on this port of `host` (0: not at all); the services serve it on
    # their own port. When metrics_token is set, /metrics asks for it as a bearer token.
    worker_metrics_port: int = 9464
    metrics_token: str = ""
    log_level: str = "INFO"
    log_json: bool = False

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32):
            raise ValueError("MINYI_SECRET_KEY must be set to a random value of 32+ characters in production")
        return self

    @property
    def allow_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.webhook_allow_hosts.split(",") if h.strip())

    @property
    def retry_schedule(self) -> list[float]:
        return [float(s) for s in self.webhook_retry_schedule.split(",") if s.strip()]

    def base_url(self, service: Literal["intake", "routing", "supervision"]) -> str:
        explicit = {
            "intake": self.intake_url,
            "routing": self.routing_url,
            "supervision": self.supervision_url,
        }
        port = {
            "intake": self.intake_port,
            "routing": self.routing_port,
            "supervision": self.supervision_port,
        }
        url = explicit[service] or f"http://{self.host}:{port[service]}"
        return url.rstrip("/")

    @property
    def public_url(self) -> str:
        return (self.public_base_url or self.base_url("intake")).rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def unsafe_secret(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Why a service or the worker must not start with this secret, or None. The published development
    secret (or a short one) keys personal-data encryption and the internal event signatures, so it is
    accepted only where MINYI_ENV says development or test explicitly, never by default."""
    weak = settings.secret_key == DEVELOPMENT_SECRET or len(settings.secret_key) < 32
    if weak and environ.get("MINYI_ENV") not in ("development", "test"):
        return (
            "refusing to start: MINYI_SECRET_KEY is the published development secret (or shorter than 32 "
            "characters); set MINYI_SECRET_KEY to a random value, or MINYI_ENV=development on a developer's "
            "machine (minyi up sets it)"
        )
    return None
