"""Production refuses to start on values written in this repository, from every command, with one message.

Each command runs as operators run it (a subprocess of `despacho`), with a database, Redis and a secret
key set but everything else left at its embedded default: the fake transport, the fake Twilio
credentials anyone can read here, the local public URL, and storage nobody chose.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from despacho.settings import Settings

STILL_TO_SET = ("DESPACHO_PUBLIC_URL", "DESPACHO_TWILIO_TRANSPORT", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                "DESPACHO_STORAGE")
ENTRY_POINTS = [["api"], ["worker"], ["projector"], ["serve"], ["demo"], ["projections", "status"],
                ["users", "create", "--role", "admin", "--login", "admin", "--name", "Admin", "--password", "x" * 12]]


def despacho(arguments: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "despacho.cli", *arguments], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


def half_configured_production(var_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DESPACHO_", "TWILIO_"))}
    return env | {"DESPACHO_MODE": "production", "DESPACHO_VAR_DIR": str(var_dir),
                  # Never reached: the settings are refused before anything connects.
                  "DESPACHO_DATABASE_URL": "postgresql://despacho@127.0.0.1:9/despacho",
                  "DESPACHO_REDIS_URL": "redis://127.0.0.1:9/0", "DESPACHO_SECRET_KEY": secrets.token_urlsafe(48)}


@pytest.mark.parametrize("arguments", ENTRY_POINTS, ids=lambda arguments: " ".join(arguments[:2]))
@pytest.mark.slow
def test_every_command_refuses_production_with_embedded_defaults_naming_every_variable(
        arguments: list[str], tmp_path: Path) -> None:
    result = despacho(arguments, half_configured_production(tmp_path / "var"), tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Error:") == 1
    for variable in STILL_TO_SET:
        assert f"\n  {variable}:" in result.stderr, variable
    for already_set in ("DESPACHO_DATABASE_URL", "DESPACHO_REDIS_URL", "DESPACHO_SECRET_KEY"):
        assert already_set not in result.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was created


def test_production_without_its_services_names_them_too(tmp_path: Path) -> None:
    env = {name: value for name, value in half_configured_production(tmp_path).items()
           if name not in ("DESPACHO_DATABASE_URL", "DESPACHO_REDIS_URL", "DESPACHO_SECRET_KEY")}

    result = despacho(["api"], env, tmp_path)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    for variable in ("DESPACHO_DATABASE_URL", "DESPACHO_REDIS_URL", "DESPACHO_SECRET_KEY", *STILL_TO_SET):
        assert f"\n  {variable}:" in result.stderr, variable


def test_a_mistyped_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    env = half_configured_production(tmp_path) | {"DESPACHO_SESSION_IDLE_MINUTES": "ocho horas"}

    result = despacho(["worker"], env, tmp_path)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "\n  DESPACHO_SESSION_IDLE_MINUTES:" in result.stderr


def test_a_short_or_repository_secret_key_is_refused_in_production() -> None:
    complete = {"mode": "production", "database_url": "postgresql://db/despacho", "redis_url": "redis://r/0",
                "public_url": "https://despacho.example.com", "twilio_transport": "twilio",
                "twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "t" * 32, "storage": "local"}
    assert Settings(**complete, secret_key=secrets.token_urlsafe(48)).mode == "production"

    for weak in ("corta", "embedded-mode-only-not-a-secret"):
        with pytest.raises(ValueError, match="DESPACHO_SECRET_KEY"):
            Settings(**complete, secret_key=weak)


def test_s3_storage_needs_its_bucket_in_any_mode() -> None:
    with pytest.raises(ValueError, match="DESPACHO_S3_BUCKET"):
        Settings(storage="s3")
