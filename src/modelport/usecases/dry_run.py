"""The dry run: the report an import would get, with no job created and no byte copied.

The inspection runs through an `Inspector` (the validation sandbox in a server), so a hostile
upload cannot stall the API's event loop or hold its GIL.
"""

from __future__ import annotations

from typing import Any

from modelport.catalog.catalog import BaseModel
from modelport.domain.jobs import NewJob
from modelport.pipeline.inspection import Inspector
from modelport.pipeline.report import build_report


class DryRuns:
    def __init__(self, inspect: Inspector) -> None:
        self._inspect = inspect

    def run(self, base: BaseModel, new_job: NewJob) -> dict[str, Any]:
        inspection = self._inspect(base, new_job.weight_type, new_job.storage, lambda _phase: None)
        return build_report(
            verdict="failed" if inspection.failed else "passed",
            base_model=base.id,
            weight_type=new_job.weight_type,
            source=new_job.storage,
            findings=inspection.findings,
            plan=inspection.plan,
            location=inspection.location,
        )
