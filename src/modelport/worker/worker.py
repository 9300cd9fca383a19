"""The worker: N slots that claim jobs, a heartbeat that keeps their leases and records progress,
the webhook delivery loop (webhook_sender), and a graceful stop that lets running imports finish
or hands them back.

A job is finished only through `JobQueue.finish`, which succeeds only for the lease owner; a
worker that lost its lease (paused, partitioned) stops copying and leaves the job to its new owner.
A user's cancel reaches the worker as the heartbeat's answer: the import stops at its next check
(the sandbox polls, the copy checks between chunks, publishing confirms first), its staging is
removed and the job ends FAILED "Cancelled by the user.".
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from modelport.clock import now_ms
from modelport.db.job_notifications import ClaimableJobListener
from modelport.db.job_queue import Claim, Lease
from modelport.domain.jobs import JobStatus, Phase
from modelport.logs import current_job_id
from modelport.metrics import CLAIM_LATENCY, IMPORT_DURATION, QUEUE_WAIT
from modelport.pipeline import outcome
from modelport.pipeline.importer import Importer
from modelport.pipeline.inspection import Inspector, in_process
from modelport.pipeline.outcome import ImportResult
from modelport.pipeline.stopping import CopyCancelled
from modelport.services import Services
from modelport.usecases.same_content import same_content_lookup
from modelport.worker.owner import is_dead_local_owner, new_owner_id, retire_owner_id
from modelport.worker.reaper import Reaper
from modelport.worker.webhook_sender import WebhookSender

logger = logging.getLogger("modelport.worker")

PROGRESS_SECONDS = 2.0


@dataclass
class _Run:
    claim: Claim
    phase: Phase = Phase.CLAIMED
    bytes_done: int = 0
    bytes_total: int | None = None
    lost: bool = False  # another worker owns the job now
    shutting_down: bool = False  # this worker is stopping: hand the job back
    cancel_requested: bool = False  # the user cancelled it: end it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, phase: Phase, done: int, total: int | None) -> None:
        with self.lock:
            self.phase, self.bytes_done = phase, done
            if total is not None:
                self.bytes_total = total

    def should_stop(self) -> bool:
        return self.lost or self.shutting_down or self.cancel_requested


class Worker:
    def __init__(self, services: Services, *, concurrency: int = 1, inspect: Inspector | None = None) -> None:
        self._services = services
        self._settings = services.settings
        self._concurrency = concurrency
        self.owner = new_owner_id()
        self._importer = Importer(
            services.settings,
            services.storage,
            services.catalog,
            inspect or in_process(services.storage),
            same_content=same_content_lookup(services.reads, services.model_store),
        )
        self._reaper = Reaper(services)
        self._webhooks = WebhookSender(services.outbox, services.settings, self.owner)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._runs: dict[str, _Run] = {}
        self._runs_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        services.on_new_job(self._wake.set)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._recover_dead_local_owners()
        if self._services.engine.dialect.name == "postgresql":
            # Listening before the slots start, so no job created from here on waits for a poll.
            listener = ClaimableJobListener(self._services.engine, self._wake.set)
            listener.connect()
            self._spawn(lambda: listener.run(self._stopping), "worker-listener")
        for index in range(self._concurrency):
            self._spawn(self._slot_loop, f"worker-slot-{index}")
        self._spawn(self._heartbeat_loop, "worker-heartbeat")
        self._spawn(self._reaper_loop, "worker-reaper")
        self._spawn(lambda: self._webhooks.run(self._delivering), "worker-webhooks")
        logger.info("worker %s started with %d slot(s)", self.owner, self._concurrency)

    def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming; let running imports finish for `grace_seconds`, then hand them back."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + grace_seconds
        while self.running_jobs() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._runs_lock:
            for run in self._runs.values():
                run.shutting_down = True
        for thread in self._threads:
            thread.join(timeout=max(self._settings.lease_seconds, 5.0))
        retire_owner_id(self.owner)
        logger.info("worker %s stopped", self.owner)

    def running_jobs(self) -> list[str]:
        with self._runs_lock:
            return list(self._runs)

    def wake(self) -> None:
        self._wake.set()

    def _delivering(self) -> bool:
        # Webhooks go on while imports finish during a graceful stop: their events are the last ones.
        return not self._stopping.is_set() or bool(self.running_jobs())

    # -- loops --------------------------------------------------------------------------------------

    def _slot_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with CLAIM_LATENCY.time():
                    claim = self._services.queue.claim_next(
                        self.owner, self._settings.lease_seconds, self._settings.max_attempts
                    )
            except Exception:
                logger.exception("claiming a job failed; retrying")
                claim = None
            if claim is None:
                self._wake.wait(self._settings.poll_seconds)
                self._wake.clear()
                continue
            self._webhooks.wake()  # the claim wrote an import.running event if anyone listens
            self._execute(claim)

    def _heartbeat_loop(self) -> None:
        interval = min(PROGRESS_SECONDS, self._settings.heartbeat_seconds)
        while not self._stopping.is_set() or self.running_jobs():
            time.sleep(interval)
            with self._runs_lock:
                runs = list(self._runs.values())
            for run in runs:
                self._beat(run)

    def _reaper_loop(self) -> None:
        interval = max(self._settings.lease_seconds, 1.0)
        while not self._stopping.wait(interval):
            try:
                self._reaper.run_once()
            except Exception:
                logger.exception("reaper pass failed")

    # -- one job ------------------------------------------------------------------------------------

    def _execute(self, claim: Claim) -> None:
        job = claim.job
        current_job_id.set(job.job_id)  # this slot's thread logs with the job id until its next job
        run = _Run(claim=claim, cancel_requested=job.cancel_requested)
        with self._runs_lock:
            self._runs[job.job_id] = run
        token = f"{claim.attempt}-{self.owner.rsplit(':', 1)[-1]}"
        began = time.monotonic()
        if claim.attempt == 1:
            QUEUE_WAIT.observe(max(now_ms() - job.created_at_ms, 0) / 1000)
        logger.info("import %s started (attempt %d)", job.job_id, claim.attempt, extra={"job_id": job.job_id})
        try:
            result = self._importer.run(job, token, run.progress, run.should_stop, lambda: self._confirm(run))
        except CopyCancelled:
            IMPORT_DURATION.labels("interrupted").observe(time.monotonic() - began)
            if run.lost:
                logger.warning("import %s: lease lost; another worker owns it now", job.job_id)
            elif run.cancel_requested:
                self._finish_cancelled(job.job_id, job.model_name)
            else:
                self._services.queue.release(job.job_id, self.owner)
                logger.info("import %s handed back to the queue", job.job_id)
            return
        except Exception:
            IMPORT_DURATION.labels("crashed").observe(time.monotonic() - began)
            logger.exception("import %s crashed; it will be retried", job.job_id, extra={"job_id": job.job_id})
            self._services.queue.abandon(job.job_id, self.owner)
            return
        finally:
            with self._runs_lock:
                self._runs.pop(job.job_id, None)
        IMPORT_DURATION.labels(result.status.value).observe(time.monotonic() - began)
        if run.cancel_requested and result.status == JobStatus.FAILED:
            # It failed on its own as the cancel arrived: the user asked to stop it, so say that.
            self._finish_cancelled(job.job_id, job.model_name)
            return
        if not self._record(job.job_id, result):
            self._beat(run)
            if result.status == JobStatus.SUCCEEDED and run.cancel_requested and not run.lost:
                # A cancel arrived while publishing: take the model down before saying so, so a
                # crash in between leaves a cancel-flagged job that its next claim ends.
                self._services.model_store.delete(job.model_name)
                self._finish_cancelled(job.job_id, job.model_name)
                return
            self._after_lost_finish(job.job_id, job.model_name, result.status)
            return
        self._webhooks.wake()
        # Earlier attempts of this job (a crashed process, a lost lease) may have left staging data.
        self._services.model_store.sweep_staging(job.model_name)
        logger.info(
            "import %s ended %s%s", job.job_id, result.status.value,
            f": {result.error_code}" if result.error_code else "", extra={"job_id": job.job_id},
        )  # fmt: skip

    def _record(self, job_id: str, result: ImportResult) -> bool:
        return self._services.queue.finish(
            job_id,
            self.owner,
            result.status,
            error_code=result.error_code,
            reason_code=result.reason_code,
            report=result.report,
            stored_bytes=result.stored_bytes,
        )

    def _finish_cancelled(self, job_id: str, model_name: str) -> bool:
        """End an owned job as cancelled and remove its staging; False if the lease was lost."""
        job = self._services.reads.get_by_id(job_id)
        if job is None or not self._record(job_id, outcome.cancelled(job)):
            return False
        self._services.model_store.sweep_staging(model_name)
        logger.info("import %s cancelled by the user", job_id, extra={"job_id": job_id})
        return True

    def _beat(self, run: _Run) -> None:
        with run.lock:
            phase, done, total = run.phase, run.bytes_done, run.bytes_total
        try:
            lease = self._services.queue.heartbeat(
                run.claim.job.job_id,
                self.owner,
                self._settings.lease_seconds,
                phase=phase,
                bytes_done=done,
                bytes_total=total,
            )
        except Exception:
            logger.exception("heartbeat for %s failed", run.claim.job.job_id)
            return
        if lease is Lease.LOST:
            run.lost = True
        elif lease is Lease.CANCEL_REQUESTED:
            run.cancel_requested = True

    def _confirm(self, run: _Run) -> None:
        self._beat(run)
        if run.lost or run.cancel_requested:
            raise CopyCancelled()

    def _after_lost_finish(self, job_id: str, model_name: str, status: JobStatus) -> None:
        current = self._services.reads.get_by_id(job_id)
        logger.warning("import %s: lease lost before finishing; not recording %s", job_id, status.value)
        orphaned = current is None or current.status not in (JobStatus.RUNNING, JobStatus.SUCCEEDED)
        if status == JobStatus.SUCCEEDED and orphaned:
            # Nobody will own what we published: take it down again.
            self._services.model_store.delete(model_name)

    def _recover_dead_local_owners(self) -> None:
        try:
            dead = [o for o in self._services.queue.running_owners() if is_dead_local_owner(o, self.owner)]
            if dead:
                count = self._services.queue.expire_leases_of(dead)
                logger.info("recovered %d job(s) from %d dead worker(s) on this host", count, len(dead))
        except Exception:
            logger.exception("could not check for jobs of dead workers")

    def _spawn(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)
