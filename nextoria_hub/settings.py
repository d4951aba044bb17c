"""One settings object for the app, the CLI and the jobs (``NEXTORIA_*`` variables, ``.env``)."""

from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The app cannot start with the configuration it was given."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEXTORIA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / ".nextoria"
    database_url: str = ""
    base_domain: str = "localhost"
    # Port the browser uses for the app; shown in URLs on localhost only.
    public_port: int = 3000
    public_scheme: Literal["http", "https"] = "http"
    # Comma-separated Fernet keys, newest first.
    secret_keys: str = Field(default="", repr=False)
    session_idle_minutes: int = 60 * 24
    session_max_hours: int = 24 * 14
    # Sign-in throttling: after this many failures on one account within the window, each
    # further try waits login_delay_seconds, doubling per failure up to the maximum.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_delay_seconds: int = Field(default=2, ge=1)
    login_max_delay_seconds: int = Field(default=60, ge=1)
    # Failed sign-ins per client address, every account and workspace together.
    login_ip_failures: str = "30/minute;200/hour;1000/day"
    # Workspaces created per client address.
    signup_per_ip: str = "5/hour;20/day"
    # A request's body must arrive within this many seconds of its first read, or it gets 408
    # and the connection is dropped (slow-body clients cannot pile up connections).
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    stripe_api_base: str = "https://api.stripe.com"
    # One try of a Stripe call may take this long (stripe-python's own default is 80 s).
    stripe_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # Stripe Connect (OAuth for agencies' Standard accounts): the platform's client id
    # (ca_…), its secret key and its Connect webhook endpoint's signing secret. All three
    # set = "Connect with Stripe" is offered. Secrets: never logged, never in a repr.
    stripe_connect_client_id: str = ""
    stripe_platform_secret_key: str = Field(default="", repr=False)
    stripe_connect_webhook_secret: str = Field(default="", repr=False)
    # Where the OAuth pages live (connect.stripe.com; the sandbox's own address in development).
    stripe_connect_base: str = ""
    email_from: str = "Nextoria Hub <billing@nextoriahub.com>"
    # Resend's own variable names (no prefix). Without a key nothing is sent: emails stay in
    # the outbox as "logged" and are shown in the app.
    resend_api_key: str = Field(default="", repr=False, validation_alias="RESEND_API_KEY")
    resend_api_url: str = Field(default="https://api.resend.com", validation_alias="RESEND_API_URL")
    # "off" on web workers when one `nextoria scheduler` process runs the jobs.
    scheduler: Literal["on", "off"] = "on"
    # Inbox worker threads inside the app process; 0 on web workers when `nextoria worker`
    # processes apply the webhook inbox.
    workers: int = Field(default=1, ge=0, le=32)
    # How long a worker's claim on an inbox event lasts before another worker may take it.
    worker_lease_seconds: float = Field(default=120.0, gt=0)
    # Redis shared by every process that calls Stripe (``redis://host:6379/0``): Stripe's
    # per-account rate limit is then kept across all of them. Empty: kept per process.
    redis_url: str = Field(default="", repr=False)
    # Autopay's Stripe calls in flight at once in one process (each account still keeps to
    # its per-second limit).
    autopay_calls: int = Field(default=32, ge=1, le=256)

    @field_validator("base_domain")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower().strip(".")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'nextoria.db'}"

    @property
    def email_mode(self) -> Literal["resend", "outbox"]:
        """``resend`` when an API key is configured, else emails only go to the outbox."""
        return "resend" if self.resend_api_key.strip() else "outbox"

    @property
    def connect_configured(self) -> bool:
        return bool(self.stripe_connect_client_id and self.stripe_platform_secret_key)

    @property
    def effective_connect_base(self) -> str:
        if self.stripe_connect_base:
            return self.stripe_connect_base.rstrip("/")
        api = self.stripe_api_base.rstrip("/")
        return "https://connect.stripe.com" if api == "https://api.stripe.com" else api

    @property
    def is_local(self) -> bool:
        return self.base_domain == "localhost" or self.base_domain.endswith(".localhost")

    def workspace_url(self, slug: str, path: str = "/") -> str:
        """The address of a workspace's pages as the browser sees it."""
        port = f":{self.public_port}" if self.is_local else ""
        return f"{self.public_scheme}://{slug}.{self.base_domain}{port}{path}"

    def apex_url(self, path: str = "/") -> str:
        port = f":{self.public_port}" if self.is_local else ""
        return f"{self.public_scheme}://{self.base_domain}{port}{path}"

    def master_keys(self) -> list[str]:
        """Fernet master keys, newest first; generated once into the data dir outside production."""
        keys = [k.strip() for k in self.secret_keys.split(",") if k.strip()]
        if keys:
            return keys
        if self.env == "production":
            raise ConfigurationError(
                "NEXTORIA_SECRET_KEYS is not set. Production needs at least one master key: "
                "generate one with `nextoria secrets generate-key`."
            )
        return [_local_master_key(self.data_dir)]


def _local_master_key(data_dir: Path) -> str:
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        # Write a private (0600) temp file, then link it into place: the key file never
        # appears half-written, and when several processes start at once one key wins.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret.key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(key + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process generated it first: use theirs
        else:
            log.warning(
                "NEXTORIA_SECRET_KEYS is not set: generated a local master key in %s. "
                "Set NEXTORIA_SECRET_KEYS in production.",
                path,
            )
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
