"""The app module refuses to start in production without master keys."""

from __future__ import annotations

import os
import subprocess
import sys


def _import_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import nextoria_hub.app"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_keys_refuses_to_start(tmp_path) -> None:
    result = _import_app(
        {
            "NEXTORIA_ENV": "production",
            "NEXTORIA_SECRET_KEYS": "",
            "NEXTORIA_DATA_DIR": str(tmp_path),
        }
    )
    assert result.returncode != 0
    assert "NEXTORIA_SECRET_KEYS is not set" in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_production_with_keys_starts(tmp_path) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    result = _import_app(
        {
            "NEXTORIA_ENV": "production",
            "NEXTORIA_SECRET_KEYS": key,
            "NEXTORIA_DATA_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 0, result.stderr[-2000:]
