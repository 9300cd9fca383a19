"""`modelport quotas set|show` on SQLite and PostgreSQL: limits set, kept, cleared and shown with the
workspace's use, and values the command cannot take refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from modelport.cli.main import main
from modelport.db.quotas import Limits
from modelport.services import Services


@pytest.fixture
def run(services: Services, tmp_path: Path) -> object:
    env = {
        "MODELPORT_DATA_DIR": str(services.settings.data_dir),
        "MODELPORT_DATABASE_URL": services.settings.database_url,
        "MODELPORT_API_KEY": None,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["quotas", *args], env=env, catch_exceptions=False)

    return invoke


def row(result: Result, workspace: str) -> list[str]:
    line = next(line for line in result.stdout.splitlines() if line.startswith(workspace + " "))
    return [part.strip() for part in line.split("  ") if part.strip()]


def test_set_keeps_what_is_not_given_and_show_lists_use(run, services: Services) -> None:  # type: ignore[no-untyped-def]
    done = run("set", "--workspace", "alpha", "--max-pending", "3", "--max-stored-bytes", "2GiB")
    assert done.exit_code == 0, done.output
    assert row(done, "alpha") == ["alpha", "0 of unlimited", "0 of 3", f"0 of {2 * 1024**3}"]
    assert run("set", "--workspace", "alpha", "--max-running", "1").exit_code == 0
    workspace = services.keys.ensure_workspace("alpha")
    assert services.quotas.limits(workspace) == Limits(max_running=1, max_pending=3, max_stored_bytes=2 * 1024**3)
    # 'unlimited' clears a limit; for max_pending that is the service's default again.
    cleared = run("set", "--workspace", "alpha", "--max-pending", "unlimited", "--max-stored-bytes", "none")
    assert row(cleared, "alpha") == ["alpha", "0 of 1", "0 of 10000", "0 of unlimited"]
    services.keys.ensure_workspace("beta")
    shown = run("show")
    assert shown.exit_code == 0 and row(shown, "beta") == ["beta", "0 of unlimited", "0 of 10000", "0 of unlimited"]
    assert [line.split()[0] for line in run("show", "--workspace", "beta").stdout.splitlines()[1:]] == ["beta"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-running", "-1"], "is not a limit"),
        (["--max-running", "2GiB"], "a whole number"),
        (["--max-pending", "lots"], "is not a limit"),
        (["--max-stored-bytes", "5XB"], "500GiB, 2TB or 1073741824"),
        ([], "Give at least one of"),
    ],
)
def test_values_the_command_cannot_take_are_refused_and_nothing_is_written(  # type: ignore[no-untyped-def]
    run, services: Services, args: list[str], needle: str
) -> None:
    done = run("set", "--workspace", "alpha", *args)
    assert done.exit_code == 2 and needle in done.stderr, done.output
    assert services.quotas.limits(services.keys.ensure_workspace("alpha")) is None


def test_show_of_an_unknown_workspace_says_so(run) -> None:  # type: ignore[no-untyped-def]
    done = run("show", "--workspace", "nope")
    assert done.exit_code == 1 and "There is no workspace 'nope'." in done.stderr
