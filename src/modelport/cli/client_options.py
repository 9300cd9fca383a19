"""What every client verb shares: its command class, the options --base-url, --api-key and --json,
the four options that name an upload, and the exit-code epilog its help ends with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelport.cli.exits import ExitCode, refuse
from modelport.domain.jobs import WeightType

F = TypeVar("F", bound=Callable[..., Any])


def exit_codes(one: str = "an API error, or the job FAILED") -> str:
    """The epilog of a verb's help: the exit codes, as the official `bl` CLI numbers them."""
    return (
        f"\b\nExit codes: 0 done; 1 {one};\n"
        "2 usage error; 3 API key missing or rejected; 5 --timeout reached;\n"
        "6 server unreachable; 7 confirmation (--yes) missing."
    )


class ClientCommand(click.Command):
    """A verb whose own usage errors (a missing option, a bad choice) honour --json as well."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        wants_json = "--json" in args  # before parsing, which consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            if not wants_json:
                raise
            refuse(ExitCode.USAGE, "UsageError", error.format_message(), as_json=True)


def client_options(func: F) -> F:
    """--base-url, --api-key and --json, shared by every verb."""
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print the server\'s output object as JSON; errors as {"error": {...}} on stdout.',
    )(func)
    func = click.option(
        "--api-key", metavar="KEY", help="API key. Default: $MODELPORT_API_KEY, else $DASHSCOPE_API_KEY."
    )(func)
    func = click.option(
        "--base-url", metavar="URL", help="Server URL. Default: $MODELPORT_BASE_URL, else http://127.0.0.1:8000."
    )(func)
    return func


def upload_options(func: F) -> F:
    """The four options that name an upload, shared by import and validate."""
    options = [
        click.option("--base-model", required=True, metavar="ID", help="Base model id (see `modelport base-models`)."),
        click.option(
            "--weight-type", required=True, type=click.Choice(WeightType.values()), help="LoRA adapter or full weights."
        ),
        click.option("--bucket", required=True, metavar="NAME", help="Bucket holding the files."),
        click.option("--object-key", required=True, metavar="PREFIX/", help="Folder in the bucket; ends with '/'."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
