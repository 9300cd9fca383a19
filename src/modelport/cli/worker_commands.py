"""`modelport worker`: import workers only, without the API (so without FastAPI and uvicorn in memory)."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from types import FrameType

import click
from prometheus_client import start_http_server

from modelport.cli.startup import load_settings, open_services_or_exit
from modelport.db.job_counts import status_counts
from modelport.db.queue_depths import queue_depths
from modelport.logs import configure_logging
from modelport.metrics import REGISTRY, watch_job_counts
from modelport.pipeline.sandbox import SandboxLimits, ValidationSandbox
from modelport.worker.allocator import limit_malloc_arenas
from modelport.worker.worker import Worker

logger = logging.getLogger("modelport")


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Imports this process runs at once.")  # fmt: skip
@click.option("--grace-seconds", default=30.0, show_default=True, type=click.FloatRange(0),
              help="On SIGTERM, how long running imports may finish before they are handed back.")  # fmt: skip
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Serve this worker's Prometheus metrics at http://0.0.0.0:PORT/metrics.")  # fmt: skip
def worker_command(concurrency: int, grace_seconds: float, metrics_port: int | None) -> None:
    """Run import workers only (no API), sharing the database with the API processes."""
    # First of all, so a SIGTERM while starting up still ends in a clean stop rather than a kill.
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = load_settings()
    configure_logging(settings.log_format)
    limit_malloc_arenas()
    services = open_services_or_exit(settings)
    # Every slot may be inspecting an upload at once, each in a sandboxed child of its own.
    limits = SandboxLimits.from_settings(settings)
    sandbox = ValidationSandbox(settings, replace(limits, processes=max(limits.processes, concurrency)))
    worker = Worker(services, concurrency=concurrency, inspect=sandbox)
    if metrics_port is not None:
        watch_job_counts(lambda: status_counts(services.engine), lambda: queue_depths(services.engine))
        start_http_server(metrics_port, registry=REGISTRY)
    worker.start()
    click.echo(f"modelport worker {worker.owner} running {concurrency} slot(s)", err=True)
    stop.wait()
    worker.stop(grace_seconds)
    sandbox.close()
    services.close()
