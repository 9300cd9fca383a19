"""The `modelport` entry point: one click group whose commands load on first use.

The server commands pull in FastAPI, SQLAlchemy and Alembic; a client verb such as `modelport list`
needs none of that, so each command's module is imported only when that command runs (or when
`--help` lists them all).
"""

from __future__ import annotations

import importlib

import click

from modelport import __version__

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "serve": "modelport.cli.server_commands:serve",
    "worker": "modelport.cli.worker_commands:worker_command",
    "keys": "modelport.cli.operator_commands:keys",
    "db": "modelport.cli.operator_commands:db",
    "quotas": "modelport.cli.operator_commands:quotas",
    "webhooks": "modelport.cli.webhook_commands:webhooks",
    "sample": "modelport.cli.sample_commands:sample",
    "import": "modelport.cli.user_commands:import_command",
    "watch": "modelport.cli.user_commands:watch_command",
    "list": "modelport.cli.user_commands:list_command",
    "get": "modelport.cli.user_commands:get_command",
    "delete": "modelport.cli.user_commands:delete_command",
    "cancel": "modelport.cli.user_commands:cancel_command",
    "base-models": "modelport.cli.user_commands:base_models_command",
    "validate": "modelport.cli.user_commands:validate_command",
    "report": "modelport.cli.user_commands:report_command",
    "pull": "modelport.cli.serving_commands:pull_command",
    "verify-serving": "modelport.cli.serving_commands:verify_serving_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command), target
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="modelport")
def main() -> None:
    """modelport: a DashScope-compatible import service for fine-tuned Qwen models.

    \b
    Run the service:       modelport serve
    Manage API keys:       modelport keys create --workspace default
    Signed webhooks:       modelport webhooks add --workspace default --url URL
    Try an upload:         modelport sample lora --base-model qwen3-8b \\
                               --out ./modelport-data/buckets/my-bucket/models/my-lora/
    Import a model:        modelport import --base-model qwen3-8b --weight-type lora \\
                               --bucket my-bucket --object-key models/my-lora/ --wait

    Settings come from the environment: MODELPORT_DATA_DIR (default ./modelport-data),
    MODELPORT_DATABASE_URL (default SQLite in the data folder), MODELPORT_CONFIG (storage
    config, TOML), MODELPORT_API_KEY, MODELPORT_BASE_URL (for the client verbs).
    """
