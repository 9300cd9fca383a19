"""The client verbs: import, watch, list, get, delete, base-models, validate, report.

They talk to a running server through `modelport.client` only (never the database or the
storage directly), so they work against any modelport, local or remote. Each verb prints a
readable result, or with --json the server's output object; failures follow `exits`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelport.cli import render
from modelport.cli.client_options import ClientCommand, client_options, exit_codes, upload_options
from modelport.cli.exits import ExitCode, refuse, reporting_errors
from modelport.cli.following import conclude, follow_to_end
from modelport.client.arguments import check_import_arguments
from modelport.client.client import Client
from modelport.client.errors import InvalidArgument
from modelport.domain.jobs import JobStatus

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_INTERVAL = 5.0
STATUSES = JobStatus.spellings()
_DONE, _FAILED = JobStatus.SUCCEEDED.value, JobStatus.FAILED.value


def polling_options(flag: str) -> Callable[[F], F]:
    """--interval and --timeout, which only mean something together with `flag`."""

    def decorate(function: F) -> F:
        function = click.option(
            "--timeout",
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help=f"With {flag}: give up after this long (exit 5); the job itself goes on.",
        )(function)
        return click.option(
            "--interval",
            type=click.FloatRange(min=0.1),
            metavar="SECONDS",
            help=f"With {flag}: seconds between polls.  [default: {DEFAULT_INTERVAL:g}]",
        )(function)

    return decorate


@click.command(
    "import", cls=ClientCommand, short_help="Import a fine-tuned model (creates a job).", epilog=exit_codes()
)
@upload_options
@click.option("--display-name", metavar="TEXT", help="Name shown for the model, 1-50 characters. Default: the base id.")
@click.option(
    "--wait", is_flag=True, help=f"Follow the job until it finishes; exit 0 if it {_DONE}, 1 if it {_FAILED}."
)
@polling_options("--wait")
@client_options
def import_command(
    base_model: str,
    weight_type: str,
    bucket: str,
    object_key: str,
    display_name: str | None,
    wait: bool,
    interval: float | None,
    timeout: float | None,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Import a fine-tuned model from a bucket folder (creates a job).

    The files are checked and copied by the job, asynchronously; `modelport validate` runs the
    same checks first without creating anything.

    \b
    Examples:
      modelport import --base-model qwen3-8b --weight-type lora \\
          --bucket my-bucket --object-key models/my-lora/
      modelport import --base-model qwen3-8b --weight-type lora --bucket my-bucket \\
          --object-key models/my-lora/ --display-name "support bot v2" --wait --timeout 1800
    """
    with reporting_errors(as_json=as_json):
        if not wait and (interval is not None or timeout is not None):
            raise InvalidArgument("--interval and --timeout only apply with --wait.")
        check_import_arguments(base_model, weight_type, bucket, object_key, display_name)
        with Client(base_url, api_key) as client:
            job = client.create_job(base_model, weight_type, bucket, object_key, display_name)
            if not wait:
                if as_json:
                    click.echo(render.json_text(job.raw))
                else:
                    click.echo("\n".join(render.job_block(job)))
                    click.echo(f"\nFollow it with: modelport watch --job-id {job.job_id} --follow")
                return
            if not as_json:
                click.echo(f"Created import job {job.job_id} (model {job.model_name}); waiting for it to finish.")
            job = follow_to_end(
                client, job.job_id, interval=interval or DEFAULT_INTERVAL, timeout=timeout, as_json=as_json
            )
    conclude(job, as_json=as_json)


@click.command(
    "watch", cls=ClientCommand, short_help="Show a job's status; --follow it to the end.", epilog=exit_codes()
)
@click.option("--job-id", required=True, help="The job to watch.")
@click.option("--follow", is_flag=True, help=f"Poll until the job finishes; exit 0 if it {_DONE}, 1 if it {_FAILED}.")
@polling_options("--follow")
@client_options
def watch_command(
    job_id: str,
    follow: bool,
    interval: float | None,
    timeout: float | None,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Show a job's status and progress; with --follow, until it finishes.

    On a terminal, --follow keeps one live line: status, phase, a bar for the bytes copied and the
    time spent. Elsewhere it prints a line whenever the status or phase changes.

    \b
    Examples:
      modelport watch --job-id 3f2a9c1e-...                       # one look
      modelport watch --job-id 3f2a9c1e-... --follow --timeout 600
    """
    with reporting_errors(as_json=as_json):
        if not follow and (interval is not None or timeout is not None):
            raise InvalidArgument("--interval and --timeout only apply with --follow.")
        with Client(base_url, api_key) as client:
            if follow:
                interval = interval or DEFAULT_INTERVAL
                job = follow_to_end(client, job_id, interval=interval, timeout=timeout, as_json=as_json)
            else:
                snapshot = next(client.follow_job(job_id, timeout=0, with_progress=True))
                job = snapshot.job
                if not as_json:
                    click.echo("\n".join(render.job_block(job)))
                    if snapshot.progress is not None and not job.is_terminal:
                        click.echo(f"{'Progress:':<15}{render.progress_text(snapshot.progress)}")
    if follow or as_json:
        conclude(job, as_json=as_json)
    elif job.failed:
        raise click.exceptions.Exit(ExitCode.API_ERROR)


@click.command("list", cls=ClientCommand, short_help="List your import jobs, newest first.", epilog=exit_codes())
@click.option(
    "--status",
    type=click.Choice(STATUSES, case_sensitive=False),
    metavar="STATUS",
    help=f"Only jobs in this status: {', '.join(STATUSES)}; any case.",
)
@click.option("--model-name", metavar="NAME", help="Only the job of this generated model name (exact match).")
@click.option("--base-model", metavar="ID", help="Only jobs importing for this base model id (modelport only).")
@click.option("--page-no", type=click.IntRange(min=1), metavar="N", help="Page to show.  [default: 1]")
@click.option(
    "--page-size",
    type=click.IntRange(1, 100),
    metavar="N",
    help="Jobs per page, 1-100.  [default: 10, or 100 with --all]",
)
@click.option("--all", "all_pages", is_flag=True, help="Every matching job, fetching page after page.")
@client_options
def list_command(
    status: str | None,
    model_name: str | None,
    base_model: str | None,
    page_no: int | None,
    page_size: int | None,
    all_pages: bool,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """List your import jobs, newest first.

    \b
    Examples:
      modelport list
      modelport list --status FAILED --all
      modelport list --base-model qwen3-8b --status SUCCESSED
      modelport list --page-no 2 --page-size 50 --json
    """
    with reporting_errors(as_json=as_json):
        if all_pages and page_no is not None:
            raise InvalidArgument("--all fetches every page; leave out --page-no.")
        with Client(base_url, api_key) as client:
            if all_pages:
                jobs = list(
                    client.iter_jobs(
                        status=status, model_name=model_name, page_size=page_size or 100, base_model=base_model
                    )
                )
                if as_json:
                    click.echo(render.json_text({"total": len(jobs), "list": [dict(job.raw) for job in jobs]}))
                    return
                footer = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}." if jobs else "No import jobs match."
            else:
                page = client.list_jobs(
                    page_no=page_no or 1,
                    page_size=page_size or 10,
                    status=status,
                    model_name=model_name,
                    base_model=base_model,
                )
                if as_json:
                    click.echo(render.json_text(page.raw))
                    return
                jobs = list(page.jobs)
                footer = _page_footer(page.page_no, page.page_size, page.total, len(jobs))
    if jobs:
        click.echo("\n".join(render.job_table(jobs)))
    click.echo(footer)
    if any(job.failed for job in jobs):
        click.echo("Why a job FAILED: modelport get --job-id <JOB ID>")


def _page_footer(page_no: int, page_size: int, total: int, shown: int) -> str:
    if total == 0:
        return "No import jobs match."
    if shown == 0:
        return f"Page {page_no} is past the end ({total} jobs in all)."
    first = (page_no - 1) * page_size + 1
    footer = f"Jobs {first}-{first + shown - 1} of {total}."
    if first + shown - 1 < total:
        footer += f" Next page: --page-no {page_no + 1} (or --all)."
    return footer


@click.command("get", cls=ClientCommand, short_help="Show one import job and why it failed.", epilog=exit_codes())
@click.option("--job-id", required=True, help="The job to show.")
@client_options
def get_command(job_id: str, base_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Show one import job (and, if it FAILED, why).

    \b
    Example:
      modelport get --job-id 3f2a9c1e-7b4d-4e0a-9d51-0c6f2a8b7e13
    """
    with reporting_errors(as_json=as_json), Client(base_url, api_key) as client:
        job = client.get_job(job_id)
    if as_json:
        click.echo(render.json_text(job.raw))
    else:
        click.echo("\n".join(render.job_block(job)))


@click.command(
    "delete", cls=ClientCommand, short_help="Delete a finished job and its model files.", epilog=exit_codes()
)
@click.option("--job-id", required=True, help="The job to delete.")
@click.option("--yes", is_flag=True, help="Confirm: the job and its imported model files are deleted for good.")
@client_options
def delete_command(job_id: str, yes: bool, base_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Delete a finished (SUCCESSED or FAILED) job and its imported model files.

    Without --yes nothing is sent and the exit code is 7. A PENDING or RUNNING job cannot be
    deleted (OperationDenied, exit 1).

    \b
    Example:
      modelport delete --job-id 3f2a9c1e-7b4d-4e0a-9d51-0c6f2a8b7e13 --yes
    """
    if not yes:
        message = f"Deleting job {job_id} also deletes its imported model files. Re-run with --yes to confirm."
        refuse(ExitCode.CONFIRMATION, "ConfirmationRequired", message, as_json=as_json)
    with reporting_errors(as_json=as_json), Client(base_url, api_key) as client:
        job = client.delete_job(job_id)
    if as_json:
        click.echo(render.json_text(job.raw))
    else:
        click.echo(f"Deleted import job {job.job_id} ({job.status_text}) and the files of model {job.model_name}.")


@click.command("cancel", cls=ClientCommand, short_help="Cancel a PENDING or RUNNING job.", epilog=exit_codes())
@click.option("--job-id", required=True, help="The job to cancel.")
@click.option("--wait", is_flag=True, help="Wait until the job has ended (a RUNNING job stops within seconds).")
@client_options
def cancel_command(job_id: str, wait: bool, base_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Cancel an import job: a PENDING job ends at once, a RUNNING one as soon as its worker sees
    the request (within seconds). It ends FAILED with "Cancelled by the user."; nothing is
    published. A finished job cannot be cancelled (OperationDenied, exit 1).

    \b
    Example:
      modelport cancel --job-id 3f2a9c1e-7b4d-4e0a-9d51-0c6f2a8b7e13 --wait
    """
    with reporting_errors(as_json=as_json), Client(base_url, api_key) as client:
        job = client.cancel_job(job_id)
        if wait and not job.is_terminal:
            job = client.wait_for_job(job.job_id, interval=1.0, timeout=300)
    if as_json:
        click.echo(render.json_text(job.raw))
    elif job.is_terminal:
        click.echo(f"Cancelled import job {job.job_id}: {job.status_text}, {job.error_code}")
    else:
        click.echo(f"Asked the worker running import job {job.job_id} to stop it; it ends within seconds.")


@click.command(
    "base-models", cls=ClientCommand, short_help="List the base models you can import for.", epilog=exit_codes()
)
@client_options
def base_models_command(base_url: str | None, api_key: str | None, as_json: bool) -> None:
    """List the base models the server imports for, with the weight types each accepts.

    \b
    Example:
      modelport base-models --base-url http://models.internal:8000
    """
    with reporting_errors(as_json=as_json), Client(base_url, api_key) as client:
        models = client.base_models()
    if as_json:
        click.echo(render.json_text(models.raw))
    else:
        click.echo("\n".join(render.base_model_table(models)))


@click.command(
    "validate",
    cls=ClientCommand,
    short_help="Dry run: check an upload, import nothing.",
    epilog=exit_codes("an API error, or the upload would fail"),
)
@upload_options
@client_options
def validate_command(
    base_model: str,
    weight_type: str,
    bucket: str,
    object_key: str,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Dry run: check an upload as an import would, without creating a job or copying bytes.

    Prints the verdict, every error and warning with its code, each file's fate and the checks
    that ran. Exits 0 when the upload would import, 1 when it would fail.

    \b
    Example:
      modelport validate --base-model qwen3-8b --weight-type lora \\
          --bucket my-bucket --object-key models/my-lora/ && modelport import ...
    """
    with reporting_errors(as_json=as_json):
        check_import_arguments(base_model, weight_type, bucket, object_key, None)
        with Client(base_url, api_key) as client:
            report = client.validate(base_model, weight_type, bucket, object_key)
    if as_json:
        click.echo(render.json_text(report.raw))
    else:
        click.echo("\n".join(render.report_lines(report)))
    if not report.passed:
        raise click.exceptions.Exit(ExitCode.API_ERROR)


@click.command("report", cls=ClientCommand, short_help="Show a job's full validation report.", epilog=exit_codes())
@click.option("--job-id", required=True, help="The job whose report to show.")
@client_options
def report_command(job_id: str, base_url: str | None, api_key: str | None, as_json: bool) -> None:
    """Show a job's full validation report: every finding, each file's fate, the checks, progress.

    \b
    Example:
      modelport report --job-id 3f2a9c1e-7b4d-4e0a-9d51-0c6f2a8b7e13
    """
    with reporting_errors(as_json=as_json), Client(base_url, api_key) as client:
        report = client.report(job_id)
    if as_json:
        click.echo(render.json_text(report.raw))
    else:
        click.echo("\n".join(render.report_lines(report)))
