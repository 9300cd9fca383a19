"""Per-workspace limits: what the operator sets (`modelport quotas set`), what is in force, and the
check a create passes before it makes a job.

Each limit is unlimited unless the operator sets one, except max_pending, whose default
(Settings.default_max_pending) keeps one client from growing the queue without bound. Create is
checked against current use: concurrent creates can pass a limit by the number in flight, and
imports running when max_stored_bytes is reached still finish; the next create is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.db.quotas import Limits, Usage
from modelport.domain.errors import Throttling
from modelport.services import Services


@dataclass(frozen=True)
class WorkspaceQuota:
    workspace: str
    limits: Limits  # in force: the operator's, with the defaults filled in
    usage: Usage


class Quotas:
    def __init__(self, services: Services) -> None:
        self._services = services

    def in_force(self, workspace_id: int) -> Limits:
        own = self._services.quotas.limits(workspace_id) or Limits()
        default_pending = self._services.settings.default_max_pending
        return Limits(
            max_running=own.max_running,
            max_pending=own.max_pending if own.max_pending is not None else default_pending,
            max_stored_bytes=own.max_stored_bytes,
        )

    def check_create(self, workspace_id: int) -> None:
        """Throttling (HTTP 429) naming the limit if the workspace may not queue one more import."""
        limits = self.in_force(workspace_id)
        if limits.max_pending is None and limits.max_stored_bytes is None:
            return
        usage = self._services.quotas.usage(workspace_id)
        if limits.max_pending is not None and usage.pending >= limits.max_pending:
            raise Throttling(
                f"This workspace already has {usage.pending} PENDING import jobs, its limit max_pending "
                f"is {limits.max_pending}; wait for some to start, or ask the operator to raise it."
            )
        if limits.max_stored_bytes is not None and usage.stored_bytes >= limits.max_stored_bytes:
            raise Throttling(
                f"This workspace's imported models take {usage.stored_bytes} bytes, its limit "
                f"max_stored_bytes is {limits.max_stored_bytes}; delete imports it no longer needs, "
                "or ask the operator to raise it."
            )

    def set(self, workspace_id: int, limits: Limits) -> None:
        self._services.quotas.set_limits(workspace_id, limits)

    def show(self, workspace_id: int, workspace: str) -> WorkspaceQuota:
        return WorkspaceQuota(workspace, self.in_force(workspace_id), self._services.quotas.usage(workspace_id))
