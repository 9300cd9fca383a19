"""`modelport serve`: the API and, by default, a worker in one process."""

from __future__ import annotations

import logging
import socket
import threading
from types import FrameType

import click
import uvicorn

from modelport.api.app import create_app
from modelport.cli.startup import load_settings, open_services_or_exit, provision_keys
from modelport.logs import configure_logging
from modelport.pipeline.sandbox import ValidationSandbox
from modelport.worker.allocator import limit_malloc_arenas
from modelport.worker.worker import Worker

logger = logging.getLogger("modelport")


class _Server(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM/SIGINT once it has shut down, which would end the
    process before the worker hands its running imports back; we stop the worker, then exit 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Serve the API only; run workers with `modelport worker`.")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Imports the built-in worker runs at once.")  # fmt: skip
@click.option("--grace-seconds", default=20.0, show_default=True, type=click.FloatRange(0),
              help="On shutdown, how long running imports may finish before they are handed back.")  # fmt: skip
def serve(host: str, port: int, no_worker: bool, concurrency: int, grace_seconds: float) -> None:
    """Run the HTTP API (and an import worker, unless --no-worker).

    An empty database is created and migrated. If MODELPORT_API_KEY is set, that key is made
    valid in workspace 'default'; if no key exists at all, one is created and printed once.
    """
    settings = load_settings()
    configure_logging(settings.log_format)
    if not no_worker:
        limit_malloc_arenas()
    services = open_services_or_exit(settings)
    # Bound before a key is printed or a worker starts: a port in use ends here with a sentence,
    # not with "listening" and then uvicorn's traceback line (and a key shown once, for nothing).
    listener = _listen(host, port)
    provision_keys(services)
    # Dry runs and the built-in worker's inspections run in sandboxed child processes.
    sandbox = ValidationSandbox(settings)
    worker = None if no_worker else Worker(services, concurrency=concurrency, inspect=sandbox)
    app = create_app(services, inspect=sandbox)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on", server_header=False
    )
    server = _Server(config)
    if worker is not None:
        worker.start()
    # A child ready before the first dry run, without delaying the start of the server.
    threading.Thread(target=sandbox.warm, name="sandbox-warm", daemon=True).start()
    role = "API and worker" if worker is not None else "API only"
    click.echo(f"modelport listening on http://{host}:{port} ({role}; data in {settings.data_dir})", err=True)
    click.echo(f"Web console: http://{host}:{port}/console", err=True)
    try:
        server.run(sockets=[listener])
    finally:
        if worker is not None:
            worker.stop(grace_seconds)
        sandbox.close()
        services.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise click.ClickException(
            f"Cannot listen on {host}:{port}: {error.strerror or error}. Another process (an earlier "
            "`modelport serve`?) may hold the port: stop it, or pass --port."
        ) from None
