"""Text for people: jobs as a block or a table, base models, validation reports, sizes and times.

Every function returns lines (or a string) and prints nothing, so commands decide where output
goes. JSON for scripts is the server's object as it came, indented. Tables are plain aligned columns: no colour, no box
characters, safe to paste into an issue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelport.client.models import BaseModelInfo, Job
from modelport.client.reports import Finding, Progress, Report


def json_text(document: Mapping[str, Any]) -> str:
    return json.dumps(dict(document), ensure_ascii=False, indent=2)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; the last column is not padded."""
    materialized = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in materialized) for i in range(len(headers))]
    lines = []
    for row in materialized:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def format_bytes(count: int | None) -> str:
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_count(count: int | None) -> str:
    """8190735360 -> '8.19B'."""
    if count is None:
        return "-"
    for threshold, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= threshold:
            return f"{count / threshold:.2f}{suffix}"
    return str(count)


def format_created(job: Job) -> str:
    created = job.created_at
    return created.strftime("%Y-%m-%d %H:%M:%S") if created is not None else (job.gmt_create or "-")


def job_block(job: Job) -> list[str]:
    rows = [
        ("Job ID", job.job_id),
        ("Status", job.status_text),
        ("Model name", job.model_name),
        ("Display name", job.display_name or "-"),
        ("Source", job.storage_info.url if job.storage_info else "-"),
    ]
    if job.weight_type:
        rows.append(("Weight type", job.weight_type))
    rows.append(("Created (UTC)", format_created(job)))
    if job.failed:
        rows.append(("Reason", job.error_code or "(the server gave no reason)"))
    return [f"{label + ':':<15}{value}" for label, value in rows]


def job_table(jobs: Sequence[Job]) -> list[str]:
    rows = [(job.job_id, job.status_text, job.model_name, format_created(job)) for job in jobs]
    return table(("JOB ID", "STATUS", "MODEL NAME", "CREATED (UTC)"), rows)


def base_model_table(models: Iterable[BaseModelInfo]) -> list[str]:
    rows = [
        (
            model.id,
            model.model_type or "-",
            ", ".join(model.weight_types) or "-",
            format_count(model.parameter_count),
            "yes" if model.is_vision else "no",
        )
        for model in models
    ]
    return table(("ID", "TYPE", "WEIGHT TYPES", "PARAMETERS", "VISION"), rows)


def progress_text(progress: Progress) -> str:
    """'copying 42% (6.4 MiB of 15.4 MiB)', or just the phase while no byte count is known."""
    phase = progress.phase or "-"
    fraction = progress.fraction
    if fraction is None or progress.bytes_total is None:
        return phase
    done, total = format_bytes(progress.bytes_done), format_bytes(progress.bytes_total)
    return f"{phase} {fraction:.0%} ({done} of {total})"


def report_lines(report: Report) -> list[str]:
    verdict = report.verdict.upper()
    errors, warnings = report.errors, report.warnings
    lines = [f"Verdict: {verdict} ({_plural(len(errors), 'error')}, {_plural(len(warnings), 'warning')})"]
    what = ", ".join(item for item in (report.base_model, report.weight_type) if item)
    if report.source_url or what:
        lines.append(f"Upload:  {report.source_url or '-'}" + (f"  ({what})" if what else ""))
    if report.job is not None:
        lines.append(f"Job:     {report.job.job_id} ({report.job.status_text}, model {report.job.model_name})")
    if report.progress is not None:
        lines.append(f"Progress: {progress_text(report.progress)}")
    lines += _findings_section("Errors", errors)
    lines += _findings_section("Warnings", warnings)
    if report.files:
        lines += ["", "Files"]
        files = [(f.path, format_bytes(f.size), f.status or "-", f.kind or "-", f.reason or "") for f in report.files]
        lines += ["  " + line for line in table(("PATH", "SIZE", "STATUS", "CLASS", "NOTE"), files)]
    if report.checks:
        lines += ["", "Checks"]
        checks = [(check.outcome, check.name, check.detail or "") for check in report.checks]
        lines += ["  " + line for line in table(("OUTCOME", "CHECK", "DETAIL"), checks)]
    if report.summary:
        lines += ["", "Summary"]
        lines += [f"  {key}: {_scalar(value)}" for key, value in report.summary.items()]
    return lines


def _findings_section(title: str, findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return []
    lines = ["", f"{title} ({len(findings)})"]
    for finding in findings:
        lines.append(f"  [{finding.code}] {finding.message}")
        where = ", ".join(f"{k} {v}" for k, v in (("file", finding.file), ("tensor", finding.tensor)) if v)
        if where and (finding.file is None or finding.file not in finding.message or finding.tensor):
            lines.append(f"      at {where}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return json.dumps(value, ensure_ascii=False)
