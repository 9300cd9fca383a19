"""Per-workspace limits: what the operator sets (`modelport quotas set`), what is in force, and the
check a create passes before it makes a job.

Each limit is unlimited unless the operator sets one, except max_pending, whose default
(Settings.default_max_pending) keeps one client from growing the queue without bound. Create is
checked against current use: concurrent creates can pass a limit by the number in flight, and
imports running when max_stored_bytes is reached still finish; the next create is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.db.quotas import Limits, QuotaRepository, Usage
from modelport.domain.errors import Throttling


@dataclass(frozen=True)
class WorkspaceQuota:
    workspace: str
    limits: Limits  # in force: the operator's, with the defaults filled in
    usage: Usage


class Quotas:
    def __init__(self, repository: QuotaRepository, default_max_pending: int) -> None:
        self._repository = repository
        self._default_max_pending = default_max_pending

    def in_force(self, workspace_id: int) -> Limits:
        own = self._repository.limits(workspace_id) or Limits()
        default_pending = self._default_max_pending
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
        usage = self._repository.usage(workspace_id)
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
        """Replace the workspace's own limits (None: unlimited, or the default for max_pending)."""
        self._repository.set_limits(workspace_id, limits)

    def own(self, workspace_id: int) -> Limits:
        return self._repository.limits(workspace_id) or Limits()

    def show(self, workspace: str | None = None) -> list[WorkspaceQuota]:
        """Every workspace's limits in force and use, or one workspace's (empty if there is none)."""
        return [
            WorkspaceQuota(name, self.in_force(workspace_id), self._repository.usage(workspace_id))
            for name, workspace_id in self._repository.workspaces().items()
            if workspace is None or name == workspace
        ]
