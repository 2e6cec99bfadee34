"""The published development secret keys personal-data encryption and event signatures: `minyi serve` and
`minyi worker` refuse it unless MINYI_ENV says development (or test) explicitly. MINYI_SECRET_KEY may list
several keys (a rotation); a weak one at any position is refused alike."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli import app
from shared.settings import DEVELOPMENT_SECRET, Settings, unsafe_secret

STRONG = "k" * 40
OTHER = "o" * 32


@pytest.mark.parametrize(
    ("secret", "environ", "refused"),
    [
        (DEVELOPMENT_SECRET, {}, True),  # the default, nobody said development
        (DEVELOPMENT_SECRET, {"MINYI_ENV": "development"}, False),
        (DEVELOPMENT_SECRET, {"MINYI_ENV": "test"}, False),
        ("short-secret", {}, True),
        (STRONG, {}, False),
        (STRONG, {"MINYI_ENV": "production"}, False),
    ],
)
def test_the_development_secret_needs_an_explicit_development_environment(
    secret: str, environ: dict[str, str], refused: bool
) -> None:
    settings = Settings(secret_key=secret, env="development")
    reason = unsafe_secret(settings, environ)
    assert (reason is not None) is refused
    if refused:
        assert "MINYI_SECRET_KEY" in reason and "MINYI_ENV=development" in reason


def test_production_refuses_the_development_secret_outright() -> None:
    with pytest.raises(ValueError, match="MINYI_SECRET_KEY"):
        Settings(secret_key=DEVELOPMENT_SECRET, env="production")


def test_several_keys_the_first_signs_whitespace_ignored() -> None:
    settings = Settings(secret_key=f" {STRONG} ,\t{OTHER}\n", env="production")
    assert settings.secret_key == STRONG
    assert settings.secret_keys == (STRONG, OTHER)
    assert unsafe_secret(settings, {}) is None


@pytest.mark.parametrize("secret", [f"{STRONG},,{OTHER}", f"{STRONG},", f",{STRONG}", " , ", ""])
def test_an_empty_key_in_the_list_is_refused_in_any_environment(secret: str) -> None:
    with pytest.raises(ValueError, match="MINYI_SECRET_KEY lists an empty key"):
        Settings(secret_key=secret, env="development")


@pytest.mark.parametrize(
    ("secret", "which"),
    [
        (f"tiny-key,{STRONG}", "key 1 is"),
        (f"{STRONG},tiny-key", "key 2 is"),
        (f"{STRONG},{OTHER},{DEVELOPMENT_SECRET}", "key 3 is"),
        (f"tiny-key,{STRONG},{DEVELOPMENT_SECRET}", "keys 1, 3 are"),
    ],
)
def test_a_weak_key_at_any_position_is_refused(secret: str, which: str) -> None:
    with pytest.raises(ValueError, match=f"MINYI_SECRET_KEY: {which}") as refused:
        Settings(secret_key=secret, env="production")
    # The error names positions, never the values read.
    assert STRONG not in str(refused.value) and "tiny-key" not in str(refused.value)
    reason = unsafe_secret(Settings(secret_key=secret, env="development"), {})
    assert reason is not None and f"MINYI_SECRET_KEY's {which}" in reason
    assert unsafe_secret(Settings(secret_key=secret, env="development"), {"MINYI_ENV": "test"}) is None


@pytest.mark.parametrize("command", [["serve", "intake"], ["worker"]])
def test_serve_and_worker_refuse_to_start(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINYI_ENV", raising=False)
    monkeypatch.delenv("MINYI_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "refusing to start" in result.output


def test_serve_refuses_a_weak_older_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import get_settings

    monkeypatch.delenv("MINYI_ENV", raising=False)
    monkeypatch.setattr(get_settings(), "secret_keys", (STRONG, "tiny-key"))
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "refusing to start: MINYI_SECRET_KEY's key 2 is" in result.output
