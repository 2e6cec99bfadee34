"""The published development secret keys personal-data encryption and event signatures: `minyi serve` and
`minyi worker` refuse it unless MINYI_ENV says development (or test) explicitly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli import app
from shared.settings import DEVELOPMENT_SECRET, Settings, unsafe_secret

STRONG = "k" * 40


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


@pytest.mark.parametrize("command", [["serve", "intake"], ["worker"]])
def test_serve_and_worker_refuse_to_start(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINYI_ENV", raising=False)
    monkeypatch.delenv("MINYI_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "refusing to start" in result.output
