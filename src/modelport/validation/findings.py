"""What the gate found: findings with stable reason codes, the checks that ran, and each file's fate.

Rules never raise on the first problem: they record findings in a `Findings` collector, so one
report tells the user everything to fix. `ImportFailed` is only for problems after which nothing
else can be checked (the prefix cannot be listed, say). When the rules are done the collector is
frozen into a `FindingSet`, the value every later stage reads.

Memory and report size are bounded whatever an upload holds: each reason code keeps at most
`MAX_FINDINGS_PER_REASON` findings and counts the rest, which the frozen set reports as one
"and N more" finding. Counts (and so the verdict) always include the findings not kept.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from modelport.domain.reasons import Reason

MAX_FINDINGS_PER_REASON: Final = 20


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    NOT_COMPARED = "not compared"  # nothing to compare with: neither passed nor failed


class FileStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    IGNORED = "ignored"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Finding:
    code: Reason
    severity: Severity
    message: str
    file: str | None = None
    tensor: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"severity": self.severity.value, "code": self.code.code, "message": self.message}
        if self.file is not None:
            body["file"] = self.file
        if self.tensor is not None:
            body["tensor"] = self.tensor
        body["fix"] = self.code.fix
        return body


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    status: FileStatus
    kind: str  # the policy class: weights, config, tokenizer, docs, leftover, pickle, code, ...
    reason: str | None = None

    def to_json(self, sha256: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"path": self.path, "size": self.size, "status": self.status.value, "class": self.kind}
        if self.reason is not None:
            body["reason"] = self.reason
        if sha256 is not None:
            body["sha256"] = sha256
        return body


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "outcome": self.outcome.value}
        if self.detail:
            body["detail"] = self.detail
        return body


class ImportFailed(Exception):
    """Stop here: nothing further can be checked. Carries the finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


@dataclass(frozen=True)
class FindingSet:
    """The frozen outcome of the rules: what the report, the job's error_code and the copy read."""

    findings: tuple[Finding, ...] = ()
    checks: tuple[Check, ...] = ()
    files: tuple[FileRecord, ...] = ()
    error_count: int = 0
    warning_count: int = 0

    @property
    def failed(self) -> bool:
        return self.error_count > 0

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.WARNING)

    def first_error(self) -> Finding | None:
        return next((f for f in self.findings if f.severity == Severity.ERROR), None)

    def error_sentence(self) -> str | None:
        """The job's `error_code`: the first error, and how many more the report holds."""
        first = self.first_error()
        if first is None:
            return None
        sentence = first.message
        if self.error_count > 1:
            more = self.error_count - 1
            sentence += f" ({more} more problem{'s' if more > 1 else ''} in the job's validation report.)"
        return sentence

    def record(self, path: str) -> FileRecord | None:
        return next((r for r in self.files if r.path == path), None)

    def plus(self, *added: Finding) -> FindingSet:
        """This set with more findings (from the copy pass, say), counted and bounded alike."""
        collector = Findings.resume(self)
        for finding in added:
            collector.add(finding)
        return collector.freeze()


@dataclass
class Findings:
    """The collector every rule writes into; `freeze()` gives the FindingSet."""

    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)
    error_count: int = 0
    warning_count: int = 0
    _kept: Counter[str] = field(default_factory=Counter)
    _dropped: Counter[str] = field(default_factory=Counter)
    _dropped_severity: dict[str, Severity] = field(default_factory=dict)
    # The one file all of a code's dropped findings are in ("" once they span several), so the
    # "and N more" summary can say where they are.
    _dropped_file: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def resume(cls, frozen: FindingSet) -> Findings:
        collector = cls(checks=list(frozen.checks), files={r.path: r for r in frozen.files})
        for finding in frozen.findings:
            collector.add(finding, counted=False)
        collector.error_count, collector.warning_count = frozen.error_count, frozen.warning_count
        return collector

    def error(self, code: Reason, message: str, *, file: str | None = None, tensor: str | None = None) -> None:
        self.add(Finding(code=code, severity=Severity.ERROR, message=message, file=file, tensor=tensor))

    def warning(self, code: Reason, message: str, *, file: str | None = None, tensor: str | None = None) -> None:
        self.add(Finding(code=code, severity=Severity.WARNING, message=message, file=file, tensor=tensor))

    def add(self, finding: Finding, *, counted: bool = True) -> None:
        if counted:
            if finding.severity == Severity.ERROR:
                self.error_count += 1
            else:
                self.warning_count += 1
        if finding.message.startswith(_MORE_PREFIX):
            self.findings.append(finding)  # an "and N more" summary carried over from a frozen set
            return
        if self._kept[finding.code] >= MAX_FINDINGS_PER_REASON:
            self._dropped[finding.code] += 1
            self._dropped_severity[finding.code] = finding.severity
            seen = self._dropped_file.setdefault(finding.code, finding.file)
            if seen != finding.file:
                self._dropped_file[finding.code] = ""
            return
        self._kept[finding.code] += 1
        self.findings.append(finding)

    def check(self, name: str, outcome: Outcome, detail: str | None = None) -> None:
        self.checks.append(Check(name=name, outcome=outcome, detail=detail))

    def checked(self, name: str, errors_before: int, detail: str | None = None) -> None:
        """Record `name` as passed or failed by whether it added errors since `errors_before`."""
        outcome = Outcome.PASSED if self.error_count == errors_before else Outcome.FAILED
        self.check(name, outcome, detail)

    def record_file(self, record: FileRecord) -> None:
        self.files[record.path] = record

    def freeze(self) -> FindingSet:
        summaries = [
            Finding(
                code=code_reason,
                severity=self._dropped_severity[code],
                message=f"{_MORE_PREFIX} {count} more finding{'s' if count > 1 else ''} of this kind ({code}) "
                "were not listed.",
                file=self._dropped_file.get(code) or None,
            )
            for code, count in sorted(self._dropped.items())
            if (code_reason := _reason_of(self.findings, code)) is not None
        ]
        return FindingSet(
            findings=tuple(self.findings) + tuple(summaries),
            checks=tuple(self.checks),
            files=tuple(sorted(self.files.values(), key=lambda record: record.path)),
            error_count=self.error_count,
            warning_count=self.warning_count,
        )


_MORE_PREFIX: Final = "...and"


def _reason_of(findings: list[Finding], code: str) -> Reason | None:
    return next((f.code for f in findings if f.code == code), None)
