"""What the gate found: findings with stable reason codes, the checks that ran, and each file's fate.

Rules never raise on the first problem: they record findings here, so one report tells the user
everything to fix. `ImportFailed` is only for problems after which nothing else can be checked
(the prefix cannot be listed, say). The job's `error_code` is the first error's sentence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from modelport.domain.reasons import Reason


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"


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


@dataclass
class FileRecord:
    path: str
    size: int
    status: FileStatus
    kind: str  # the policy class: weights, config, tokenizer, docs, leftover, pickle, code, ...
    reason: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "status": self.status.value,
            "class": self.kind,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        if self.sha256 is not None:
            body["sha256"] = self.sha256
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


@dataclass
class Findings:
    """The collector every rule writes into."""

    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)

    def error(self, code: Reason, message: str, *, file: str | None = None, tensor: str | None = None) -> Finding:
        finding = Finding(code=code, severity=Severity.ERROR, message=message, file=file, tensor=tensor)
        self.findings.append(finding)
        return finding

    def warning(self, code: Reason, message: str, *, file: str | None = None, tensor: str | None = None) -> Finding:
        finding = Finding(code=code, severity=Severity.WARNING, message=message, file=file, tensor=tensor)
        self.findings.append(finding)
        return finding

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def check(self, name: str, outcome: Outcome, detail: str | None = None) -> None:
        self.checks.append(Check(name=name, outcome=outcome, detail=detail))

    def checked(self, name: str, errors_before: int, detail: str | None = None) -> None:
        """Record `name` as passed or failed by whether it added errors since `errors_before`."""
        outcome = Outcome.PASSED if self.error_count == errors_before else Outcome.FAILED
        self.check(name, outcome, detail)

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.ERROR)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    def first_error(self) -> Finding | None:
        return next((f for f in self.findings if f.severity == Severity.ERROR), None)

    def record_file(self, record: FileRecord) -> None:
        self.files[record.path] = record

    def error_sentence(self) -> str | None:
        """The job's `error_code`: the first error, and how many more the report holds."""
        errors = self.errors
        if not errors:
            return None
        sentence = errors[0].message
        if len(errors) > 1:
            more = len(errors) - 1
            sentence += f" ({more} more problem{'s' if more > 1 else ''} in the job's validation report.)"
        return sentence
