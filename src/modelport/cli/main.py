"""The `modelport` entry point: one click group; each module registers its commands on it."""

from __future__ import annotations

import click

from modelport import __version__
from modelport.cli import operator_commands, server_commands, user_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="modelport")
def main() -> None:
    """modelport: a DashScope-compatible import service for fine-tuned Qwen models.

    \b
    Run the service:       modelport serve
    Manage API keys:       modelport keys create --workspace default
    Import a model:        modelport import --base-model qwen3-8b --weight-type lora \\
                               --bucket my-bucket --object-key models/my-lora/ --wait

    Settings come from the environment: MODELPORT_DATA_DIR (default ./modelport-data),
    MODELPORT_DATABASE_URL (default SQLite in the data folder), MODELPORT_CONFIG (storage
    config, TOML), MODELPORT_API_KEY, MODELPORT_BASE_URL (for the client verbs).
    """


server_commands.register(main)
operator_commands.register(main)
user_commands.register(main)
