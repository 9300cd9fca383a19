"""Prometheus metrics: jobs by status (read from the database at scrape time), claims, queue wait,
bytes imported and bytes written to the model store (the difference is de-duplication), import
durations, webhook attempts, and HTTP request counts and latencies by route template.

One registry per process: `serve` exposes it at /metrics; `modelport worker --metrics-port` serves
the worker's own. Route templates (not raw paths) label HTTP metrics, so cardinality stays fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from modelport.domain.jobs import JobStatus

if TYPE_CHECKING:
    from modelport.db.queue_depths import QueueDepth

logger = logging.getLogger("modelport.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "modelport_http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "modelport_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
CLAIM_LATENCY = Histogram(
    "modelport_job_claim_seconds",
    "Time the claim statement takes (a worker asking the queue for its next job).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "modelport_job_queue_wait_seconds",
    "Time from a job's creation to its first claim.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
    registry=REGISTRY,
)
BYTES_IMPORTED = Counter("modelport_bytes_imported_total", "Bytes copied into the model store.", registry=REGISTRY)
BYTES_WRITTEN = Counter(
    "modelport_store_bytes_written_total",
    "Bytes of imported files written to the model store; bytes the store held already are not written again.",
    registry=REGISTRY,
)
IMPORT_DURATION = Histogram(
    "modelport_import_duration_seconds",
    "Duration of one import attempt, by outcome.",
    ["outcome"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200),
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "modelport_webhook_attempts_total",
    "Webhook delivery attempts, by what followed: delivered, retry (a later attempt is due), failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)


class JobStatusCollector(Collector):
    """Read from the database when scraped: `modelport_jobs{status}` (every job by status) and, per
    workspace with work, `modelport_queue_pending`, `modelport_queue_running` and
    `modelport_queue_oldest_wait_seconds` (how long its oldest PENDING job has waited)."""

    def __init__(
        self, read_counts: Callable[[], dict[str, int]], read_queues: Callable[[], list[QueueDepth]] | None = None
    ) -> None:
        self._read_counts = read_counts
        self._read_queues = read_queues

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering must not touch the database (the default describe() would call collect()).
        yield self._family()
        if self._read_queues is not None:
            yield from self._queue_families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        try:
            counts = self._read_counts()
            queues = self._read_queues() if self._read_queues is not None else None
        except Exception:
            logger.exception("could not read job counts for /metrics")
            return
        for status in JobStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        yield family
        if queues is not None:
            pending, running, waited = self._queue_families()
            for queue in queues:
                pending.add_metric([queue.workspace], queue.pending)
                running.add_metric([queue.workspace], queue.running)
                waited.add_metric([queue.workspace], queue.oldest_wait_seconds)
            yield from (pending, running, waited)

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("modelport_jobs", "Import jobs in the database by status.", labels=["status"])

    @staticmethod
    def _queue_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("modelport_queue_pending", "PENDING jobs per workspace.", labels=["workspace"]),
            GaugeMetricFamily("modelport_queue_running", "RUNNING jobs per workspace.", labels=["workspace"]),
            GaugeMetricFamily(
                "modelport_queue_oldest_wait_seconds",
                "How long the oldest PENDING job of each workspace has waited.",
                labels=["workspace"],
            ),
        )


_status_collector: JobStatusCollector | None = None


def watch_job_counts(
    read_counts: Callable[[], dict[str, int]], read_queues: Callable[[], list[QueueDepth]] | None = None
) -> None:
    """Register (once per process) the collector that reads job counts and queues at scrape time."""
    global _status_collector
    if _status_collector is not None:
        REGISTRY.unregister(_status_collector)
    _status_collector = JobStatusCollector(read_counts, read_queues)
    REGISTRY.register(_status_collector)
