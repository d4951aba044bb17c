"""Settings: sensible defaults, and master keys that are never silently missing in production."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet

from nextoria_hub.settings import PROJECT_ROOT, ConfigurationError, Settings, get_settings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Set ``NEXTORIA_*`` variables (None unsets) and return fresh settings; restored after."""

    def apply(**values: str | None) -> Settings:
        for key, value in values.items():
            name = f"NEXTORIA_{key.upper()}"
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def keyless(settings_env, tmp_path: Path) -> Callable[..., Settings]:  # type: ignore[no-untyped-def]
    """Settings without master keys, with a fresh data dir."""

    def apply(**values: str | None) -> Settings:
        return settings_env(
            secret_keys=None, data_dir=str(tmp_path / "data" / ".nextoria"), **values
        )

    return apply


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NEXTORIA_"):
            monkeypatch.delenv(name)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.env == "development"
    assert settings.data_dir == PROJECT_ROOT / ".nextoria"
    assert (
        settings.effective_database_url == f"sqlite:///{PROJECT_ROOT / '.nextoria' / 'nextoria.db'}"
    )
    assert settings.base_domain == "localhost"
    assert settings.is_local
    assert settings.workspace_url("acme") == "http://acme.localhost:3000/"
    assert settings.workspace_url("acme", "/login") == "http://acme.localhost:3000/login"
    assert settings.apex_url("/signup") == "http://localhost:3000/signup"
    assert settings.session_idle_minutes == 24 * 60
    assert settings.session_max_hours == 14 * 24
    assert (settings.login_max_failures, settings.login_window_minutes) == (5, 15)


def test_get_settings_reads_the_environment_once(settings_env) -> None:  # type: ignore[no-untyped-def]
    first = settings_env(base_domain="nextoriahub.com", public_scheme="https")
    assert get_settings() is first
    assert first.workspace_url("acme") == "https://acme.nextoriahub.com/"  # no port off localhost
    assert first.effective_database_url == os.environ["NEXTORIA_DATABASE_URL"]


def test_local_master_key_is_generated_once_with_mode_0600(keyless) -> None:  # type: ignore[no-untyped-def]
    settings = keyless(env="development")
    path = settings.data_dir / "secret.key"
    assert not path.exists()
    [key] = settings.master_keys()
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key
    Fernet(key.encode())  # a usable Fernet key
    # the same key on the next call and for the next process (fresh settings)
    assert settings.master_keys() == [key]
    assert Settings().master_keys() == [key]


def test_test_env_also_generates_a_local_key(keyless) -> None:  # type: ignore[no-untyped-def]
    settings = keyless(env="test")
    assert len(settings.master_keys()) == 1


def test_production_without_keys_refuses_to_start(keyless) -> None:  # type: ignore[no-untyped-def]
    settings = keyless(env="production")
    with pytest.raises(ConfigurationError) as err:
        settings.master_keys()
    assert "NEXTORIA_SECRET_KEYS" in str(err.value)
    assert not (settings.data_dir / "secret.key").exists()


def test_secret_keys_are_comma_separated_newest_first(settings_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = settings_env(
        env="production", secret_keys=f" {new} ,{old},, ", data_dir=str(tmp_path / "d")
    )
    assert settings.master_keys() == [new, old]
    assert not (tmp_path / "d").exists()  # nothing generated when keys are given
    assert new not in repr(settings)
    # newest first: MultiFernet encrypts with the new key and still reads the old one's tokens
    sealed_by_old = Fernet(old.encode()).encrypt(b"sk_test_123")
    multi = MultiFernet([Fernet(k.encode()) for k in settings.master_keys()])
    assert multi.decrypt(sealed_by_old) == b"sk_test_123"
    assert Fernet(new.encode()).decrypt(multi.encrypt(b"x")) == b"x"


def _start_together(settings: Settings, n: int) -> tuple[list[str], list[BaseException]]:
    """``n`` threads ask for the master keys at the same moment, like processes booting."""
    barrier = threading.Barrier(n)
    keys: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            keys.extend(settings.master_keys())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return keys, errors


@pytest.mark.parametrize("round_", range(10))
def test_processes_starting_at_once_share_one_local_key(tmp_path: Path, round_: int) -> None:
    settings = Settings(env="development", secret_keys="", data_dir=tmp_path / "data")
    keys, errors = _start_together(settings, 6)
    assert errors == []
    assert len(keys) == 6 and len(set(keys)) == 1 and keys[0]
    assert [p.name for p in settings.data_dir.iterdir()] == ["secret.key"]  # no temp files
