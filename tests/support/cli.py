"""Running `modelport` verbs in this process through click's runner, with a given environment only."""

from __future__ import annotations

from click.testing import CliRunner, Result

from modelport.cli.main import main


def invoke(base_url: str, api_key: str | None, args: list[str]) -> Result:
    """Run a verb in this process (click's runner), with the given environment only."""
    env: dict[str, str | None] = {
        "MODELPORT_API_KEY": api_key,
        "MODELPORT_BASE_URL": base_url,
        "DASHSCOPE_API_KEY": None,
    }
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)
