"""The webhook delivery loop, run by every worker (and `modelport serve`'s built-in one): claim due
deliveries from the outbox, send up to MODELPORT_WEBHOOKS_CONCURRENCY at once, record each
attempt and its successor.

It runs an asyncio loop in a thread of its own, so that a slow receiver costs a coroutine, not a
thread, and every attempt's deadline is a cancellation rather than a hope; the database calls go
to worker threads. On start it makes the deliveries of dead senders on this host due at once (as
the worker does with jobs); on stop it gives attempts in flight a short grace, then hands them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from modelport.clock import now_ms
from modelport.db.webhook_outbox import AttemptOutcome, OutgoingMessage, WebhookOutbox
from modelport.domain.webhooks import DeliveryStatus
from modelport.metrics import WEBHOOK_ATTEMPTS
from modelport.settings import Settings
from modelport.webhooks.addresses import Resolver, parse_webhook_url, system_resolver
from modelport.webhooks.delivery import attempt_delivery, new_client
from modelport.webhooks.retry import RetryPolicy
from modelport.worker.owner import is_dead_local_owner

logger = logging.getLogger("modelport.webhooks")

T = TypeVar("T")

RETENTION_SECONDS = 30 * 86400  # ended deliveries are kept this long for `webhooks deliveries`
PRUNE_EVERY_SECONDS = 3600.0
STOP_GRACE_SECONDS = 5.0
# A lease outlasts an attempt's deadline by this much, so a live sender never loses one mid-send.
LEASE_MARGIN_SECONDS = 30.0

_OUTCOME_LABEL = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


class WebhookSender:
    def __init__(
        self, outbox: WebhookOutbox, settings: Settings, owner: str, *, resolver: Resolver = system_resolver
    ) -> None:
        self._outbox = outbox
        self._settings = settings
        self._owner = owner
        self._resolver = resolver
        self._policy = RetryPolicy.from_settings(settings)
        self._timeout = settings.webhooks_timeout_seconds
        self._lease_ms = int((self._timeout + LEASE_MARGIN_SECONDS) * 1000)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None

    def wake(self) -> None:
        """Look for due deliveries now (from any thread): a job has just changed status."""
        with self._lock:
            loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(woken.set)

    def run(self, keep_running: Callable[[], bool]) -> None:
        """Deliver until `keep_running()` turns false (it is asked at least every poll interval)."""
        asyncio.run(self._main(keep_running))

    async def _main(self, keep_running: Callable[[], bool]) -> None:
        woken = asyncio.Event()
        with self._lock:
            self._loop, self._woken = asyncio.get_running_loop(), woken
        await self._call(self._recover_dead_senders)
        in_flight: dict[asyncio.Task[None], str] = {}
        pruned_at = -PRUNE_EVERY_SECONDS
        try:
            async with new_client(self._timeout) as client:
                try:
                    while keep_running():
                        if time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                            pruned_at = time.monotonic()
                            await self._call(self._outbox.prune, now_ms() - RETENTION_SECONDS * 1000)
                        for message in await self._claim(len(in_flight)):
                            task = asyncio.create_task(self._deliver(client, message))
                            in_flight[task] = message.message_id
                            task.add_done_callback(lambda done: in_flight.pop(done, None))
                        # Until a job changes status, an attempt ends, or the poll interval passes.
                        waiter = asyncio.ensure_future(woken.wait())
                        poll = self._settings.poll_seconds
                        await asyncio.wait({waiter, *in_flight}, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                        waiter.cancel()
                        woken.clear()
                finally:
                    await self._stop_in_flight(dict(in_flight))
        finally:
            with self._lock:
                self._loop = self._woken = None

    async def _claim(self, in_flight: int) -> list[OutgoingMessage]:
        free = self._settings.webhooks_concurrency - in_flight
        if free <= 0:
            return []
        return await self._call(self._outbox.claim_due, self._owner, free, self._lease_ms) or []

    async def _deliver(self, client: httpx.AsyncClient, message: OutgoingMessage) -> None:
        started_at_ms, began = now_ms(), time.monotonic()
        try:
            outcome = await attempt_delivery(
                client,
                message,
                allow_private=self._settings.webhooks_allow_private,
                resolver=self._resolver,
                timeout_seconds=self._timeout,
            )
        except Exception:
            logger.exception("webhook %s: the attempt failed unexpectedly", message.message_id)
            outcome = AttemptOutcome(None, "modelport could not make the attempt (an internal error; see its log).")
        status = await self._call(
            self._outbox.record_attempt,
            message,
            self._owner,
            outcome,
            started_at_ms=started_at_ms,
            duration_ms=int((time.monotonic() - began) * 1000),
            policy=self._policy,
        )
        if status is not None:
            WEBHOOK_ATTEMPTS.labels(_OUTCOME_LABEL[status]).inc()
        self._log(message, outcome, status)

    async def _stop_in_flight(self, in_flight: dict[asyncio.Task[None], str]) -> None:
        if not in_flight:
            return
        _done, unfinished = await asyncio.wait(set(in_flight), timeout=min(STOP_GRACE_SECONDS, self._timeout))
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        handed_back = [in_flight[task] for task in unfinished]
        if handed_back:
            await self._call(self._outbox.release, handed_back, self._owner)
            logger.info("handed %d webhook delivery(ies) in flight back to the outbox", len(handed_back))

    def _recover_dead_senders(self) -> None:
        dead = [owner for owner in self._outbox.leased_owners() if is_dead_local_owner(owner, self._owner)]
        if dead:
            count = self._outbox.expire_leases_of(dead)
            logger.info("recovered %d webhook delivery(ies) from %d dead sender(s) on this host", count, len(dead))

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """A database call off the event loop; a failure is logged and the loop goes on (the
        lease brings an unrecorded delivery back)."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except Exception:
            logger.exception("webhook outbox: %s failed", getattr(function, "__name__", "a call"))
            return None

    @staticmethod
    def _log(message: OutgoingMessage, outcome: AttemptOutcome, status: DeliveryStatus | None) -> None:
        # Only the URL's origin: its path and query may hold the receiver's own tokens.
        try:
            origin = parse_webhook_url(message.url).origin
        except ValueError:
            origin = "(invalid URL)"
        attempt, error = message.attempts + 1, outcome.error
        if outcome.delivered:
            logger.info("webhook %s delivered to %s (attempt %d)", message.message_id, origin, attempt)
        elif status == DeliveryStatus.FAILED:
            logger.warning("webhook %s to %s given up after attempt %d: %s", message.message_id, origin, attempt, error)
        else:
            logger.info("webhook %s to %s failed (attempt %d): %s", message.message_id, origin, attempt, error)
