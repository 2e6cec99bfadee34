"""Process-wide configuration, read once from the environment (``MINYI_*`` plus ``DATABASE_URL``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "minyi-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    # Errors never echo the values read (a secret key's tail would otherwise be printed).
    model_config = SettingsConfigDict(env_prefix="MINYI_", extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "MINYI_DATABASE_URL")
    )
    data_dir: Path = Path("var")
    # MINYI_SECRET_KEY may list several keys, comma-separated (a rotation): after validation secret_key is the
    # first, which encrypts and signs; secret_keys are all of them, in order, and all decrypt and verify.
    secret_key: str = DEVELOPMENT_SECRET
    _older_secret_keys: tuple[str, ...] = PrivateAttr(default=())

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
        """Splits MINYI_SECRET_KEY into its keys (an empty one is a mistake anywhere) and, in production,
        refuses a weak key at any position: an older key still decrypts and verifies."""
        keys = [key.strip() for key in self.secret_key.split(",")]
        if any(not key for key in keys):
            raise ValueError("MINYI_SECRET_KEY lists an empty key (keys are separated by single commas)")
        self.secret_key = keys[0]
        self._older_secret_keys = tuple(keys[1:])
        weak = weak_secret_positions(self.secret_keys)
        if self.env == "production" and weak:
            raise ValueError(
                f"MINYI_SECRET_KEY: {_which(weak)} the development secret or shorter than {MIN_SECRET_CHARS} "
                f"characters (counted from 1); every key must be a random value of {MIN_SECRET_CHARS}+ "
                "characters in production"
            )
        return self

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """Every configured key, the signing one first."""
        return (self.secret_key, *self._older_secret_keys)

    @secret_keys.setter
    def secret_keys(self, keys: tuple[str, ...]) -> None:
        # For tests: monkeypatch.setattr(get_settings(), "secret_keys", (new, old)) (and it is put back).
        if not keys or not all(keys):
            raise ValueError("secret_keys needs one or more non-empty keys")
        self.secret_key = keys[0]
        self._older_secret_keys = tuple(keys[1:])

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


def weak_secret_positions(keys: tuple[str, ...]) -> list[int]:
    """The 1-based positions of the keys that are the published development secret or too short."""
    return [n for n, key in enumerate(keys, 1) if key == DEVELOPMENT_SECRET or len(key) < MIN_SECRET_CHARS]


def _which(positions: list[int]) -> str:
    """Which keys of the list (counted from 1): "key 2 is", "keys 1, 3 are"."""
    numbers = ", ".join(str(n) for n in positions)
    return f"key {numbers} is" if len(positions) == 1 else f"keys {numbers} are"


def unsafe_secret(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Why a service or the worker must not start with these secrets, or None. The published development
    secret (or a short one) keys personal-data encryption and the internal event signatures, so it is
    accepted only where MINYI_ENV says development or test explicitly, never by default; an older key kept
    for a rotation still decrypts, so it is held to the same rule."""
    weak = weak_secret_positions(settings.secret_keys)
    if weak and environ.get("MINYI_ENV") not in ("development", "test"):
        which = "MINYI_SECRET_KEY is"
        if len(settings.secret_keys) > 1:
            which = f"MINYI_SECRET_KEY's {_which(weak)}"
        return (
            f"refusing to start: {which} the published development secret (or shorter than "
            f"{MIN_SECRET_CHARS} characters); set MINYI_SECRET_KEY to random values, or MINYI_ENV=development "
            "on a developer's machine (minyi up sets it)"
        )
    return None
