"""The CLI's usage rules and help, in process: a rule the contract refuses is caught before any
request (the server port is closed, so a request would show as exit 6)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from modelport.cli.main import main
from tests.support.cli import invoke
from tests.support.server import TEST_KEY, free_port

API_KEY = TEST_KEY
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"
UPLOAD = ["--base-model", "qwen3-8b", "--weight-type", "lora", "--bucket", "e2e-bucket"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["validate", *UPLOAD, "--object-key", "/"], 2, "not the root"),
        (["import", *UPLOAD, "--object-key", "/models/lora/"], 2, "must not start with '/'"),
        (["import", *UPLOAD, "--object-key", "m/", "--display-name", "x" * 51], 2, "1 to 50 characters"),
        (["import", *UPLOAD, "--object-key", "m/", "--base-url", "localhost:8000"], 2, "http:// or https://"),
        (["import", *UPLOAD[:2], "--weight-type", "qlora", "--bucket", "b", "--object-key", "m/"], 2, "qlora"),
        (["import", *UPLOAD, "--object-key", "m/", "--timeout", "5"], 2, "only apply with --wait"),
        (["list", "--all", "--page-no", "2"], 2, "leave out --page-no"),
        (["watch", "--job-id", UNKNOWN_JOB, "--timeout", "5"], 2, "only apply with --follow"),
        (["import", *UPLOAD, "--object-key", "m/"], 6, "Could not reach"),  # the control: this one is sent
        (["delete", "--job-id", UNKNOWN_JOB], 7, "Re-run with --yes"),
    ],
)
def test_usage_rules_send_nothing(args: list[str], code: int, needle: str) -> None:
    """In process (fast); the port is closed, so a request would show as exit 6."""
    result = invoke(f"http://127.0.0.1:{free_port()}", API_KEY, args)
    assert (result.exit_code, result.stdout) == (code, ""), result.output
    assert needle in result.stderr
    as_json = invoke(f"http://127.0.0.1:{free_port()}", API_KEY, [*args, "--json"])
    assert as_json.exit_code == code and as_json.stderr == ""
    error = json.loads(as_json.stdout)["error"]
    assert error["exit_code"] == code and needle in error["message"] and error["request_id"] is None


def test_help_of_the_group_and_every_verb() -> None:
    runner = CliRunner()
    group = runner.invoke(main, ["--help"])
    assert group.exit_code == 0
    verbs = ["import", "watch", "list", "get", "delete", "base-models", "validate", "report"]
    for verb in verbs:
        assert re.search(rf"^  {verb}\s+\S", group.output, re.MULTILINE), verb
        result = runner.invoke(main, [verb, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output and "modelport " + verb in result.output, verb
        assert "Exit codes:" in result.output and "--base-url" in result.output and "--json" in result.output
