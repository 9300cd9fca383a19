"""The delete protocol, both halves: the request's (row first, then files) and the reaper's sweep
of files whose row is gone.

The job row is deleted first, in a compare-and-set on its terminal status, so the job is gone for
every reader at once; the model's files go next. A process that dies between the two leaves files
without a job, which `sweep_orphans` removes on its next pass, so a crash never leaks a model.

Files are blobs shared between models (storage/blob_ledger): deleting a model drops its references,
and a blob goes with its last one. `collect_blobs` is the backstop for whatever a crash left
between two steps: references of models no RUNNING or SUCCESSED job owns, and blobs nothing
references.
"""

from __future__ import annotations

import logging

from modelport.db.job_reads import JobReads
from modelport.db.job_writes import JobWrites
from modelport.domain.jobs import Job
from modelport.storage.interface import ModelStore

logger = logging.getLogger("modelport.deletion")


def delete_finished_job(writes: JobWrites, store: ModelStore, job: Job) -> bool:
    """Delete a finished job and its model; False if another request deleted the job first."""
    if not writes.delete_finished(job):
        return False
    try:
        store.delete(job.model_name)
    except Exception:
        # The job is gone already; the orphan sweep removes these files on its next pass.
        logger.exception("could not delete the files of model %s", job.model_name)
    return True


def sweep_orphans(reads: JobReads, store: ModelStore) -> int:
    """Remove every model in the store whose job no longer exists; returns how many."""
    names = store.model_names()
    known = reads.model_names(names)
    removed = 0
    for name in names:
        if name not in known:
            store.delete(name)
            removed += 1
            logger.info("removed model %s: its job no longer exists", name)
    return removed


def collect_blobs(reads: JobReads, store: ModelStore) -> int:
    """Remove every blob no live model references; returns how many."""
    removed = store.collect_blobs(reads.live_model_names)
    if removed:
        logger.info("removed %d blob(s) no model references", removed)
    return removed
