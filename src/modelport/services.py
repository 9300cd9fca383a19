"""The wiring: everything a process needs, built once from `Settings` and passed down.

Opening services migrates an empty database and refuses an outdated one, loads the base-model
catalog and the storage configuration; nothing here runs at import time. The use cases
(`modelport.usecases`) and the worker are built over a `Services`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from modelport.catalog.catalog import Catalog, load_catalog
from modelport.db.engine import make_engine
from modelport.db.job_queue import JobQueue
from modelport.db.job_reads import JobReads
from modelport.db.job_writes import JobWrites
from modelport.db.keys_repository import KeyRepository
from modelport.db.migrations import ensure_schema
from modelport.db.quotas import QuotaRepository
from modelport.db.webhook_endpoints import WebhookEndpoints
from modelport.db.webhook_outbox import WebhookOutbox
from modelport.settings import Settings
from modelport.storage.config import build_storage
from modelport.storage.interface import ModelStore
from modelport.storage.registry import StorageRegistry


@dataclass
class Services:
    settings: Settings
    engine: Engine
    reads: JobReads
    writes: JobWrites
    queue: JobQueue
    keys: KeyRepository
    quotas: QuotaRepository
    catalog: Catalog
    storage: StorageRegistry
    webhook_endpoints: WebhookEndpoints
    outbox: WebhookOutbox
    _job_listeners: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_store(self) -> ModelStore:
        return self.storage.model_store

    def on_new_job(self, listener: Callable[[], None]) -> None:
        """Called after every create, so an in-process worker starts without waiting for its poll."""
        with self._lock:
            self._job_listeners.append(listener)

    def notify_new_job(self) -> None:
        with self._lock:
            listeners = list(self._job_listeners)
        for listener in listeners:
            listener()

    def close(self) -> None:
        self.reads.close()
        self.engine.dispose()


def open_services(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        catalog = load_catalog(settings.data_dir)
        storage = build_storage(settings)
    except BaseException:
        engine.dispose()
        raise
    reads = JobReads(engine)
    return Services(
        settings=settings,
        engine=engine,
        reads=reads,
        writes=JobWrites(engine, reads),
        queue=JobQueue(engine),
        keys=KeyRepository(engine),
        quotas=QuotaRepository(engine),
        catalog=catalog,
        storage=storage,
        webhook_endpoints=WebhookEndpoints(engine),
        outbox=WebhookOutbox(engine),
    )
