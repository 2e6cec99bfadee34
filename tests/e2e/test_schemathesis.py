"""Schemathesis against each running service's OpenAPI, with a key of each role that uses it: no generated
input may produce a 5xx, and every response must match the documented schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def _run(stack: Stack, service: str, key: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{stack.urls[service]}/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "8",
            "--seed",
            "20261122",
            "--request-timeout",
            "10",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_no_generated_request_breaks_a_service(stack: Stack) -> None:
    stack.cli("demo")
    keys = json.loads((stack.data_dir / "demo-keys.json").read_text())
    department = next(iter(keys["departments"].values()))["key"]
    runs = [
        ("intake", keys["admin"]),
        ("routing", keys["admin"]),
        ("routing", department, "--include-path-regex", "^/v1/assignments"),
        ("supervision", keys["admin"]),
        ("supervision", keys["supervisor"], "--include-path-regex", "^/v1/cases"),
        ("supervision", keys["integrator"], "--include-path-regex", "^/v1/webhooks"),
    ]
    failures = []
    for service, key, *extra in runs:
        result = _run(stack, service, key, *extra)
        if result.returncode != 0:
            failures.append(f"--- {service} {extra}\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    assert not failures, "\n".join(failures)
