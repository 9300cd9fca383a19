"""Every key of every config file an upload can carry, decided: checked, inert or refused.

A file's keys are declared once, as the fields of a strict pydantic model (a `ConfigDocument`):
the field's type and constraints are the check, and the `KeyRule` in its metadata says which of
the three kinds it is, what PEFT, transformers and vLLM do with it (with a citation into their
code), and the sentence a user reads when it is refused:

- checked: the value is validated for type, range and finiteness (and, by the file's rules, for
  equality with the base where the base has a value);
- inert: accepted and reported, because no loader computes anything different with it;
- refused: it changes what the engine computes in a way the gate does not verify.

A key the model does not declare gets the document's `UNKNOWN` rule. `screen()` validates a
parsed document and turns every problem into a finding that names the file and the key; it never
raises on untrusted input. The README's key tables are rendered from the same declarations
(`markdown_table`), so the documentation cannot drift from the code.
"""

from __future__ import annotations

import enum
import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from modelport.domain.reasons import Reason
from modelport.validation.findings import Findings, Outcome

_SHOWN = 60


class Decision(enum.StrEnum):
    CHECKED = "checked"
    INERT = "inert"
    REFUSED = "refused"


@dataclass(frozen=True)
class KeyRule:
    """How the gate treats one key. Put it in a field's metadata: `r: Annotated[int, KeyRule(...)]`."""

    decision: Decision
    engines: str  # what PEFT / transformers / vLLM do with the key, in a few words
    cite: str  # where they do it, e.g. "peft 0.21 tuners/lora/layer.py#L263"
    sentence: str = ""  # refused: the end of "<file>: <key> ..."; checked: what a valid value is
    reason: Reason | None = None  # overrides the document's reason code for this key
    # Refused keys: the values besides null that mean "not in use" (what the library writes when the
    # feature is off), compared as JSON values (true is not 1). None: false and empty values too.
    # PEFT turns a variant on when its field `is not None`, so its rules pass `unset=()`: `{}` is on.
    unset: tuple[Any, ...] | None = None


def checked(engines: str, cite: str, expect: str = "", reason: Reason | None = None) -> KeyRule:
    return KeyRule(Decision.CHECKED, engines, cite, expect, reason)


def inert(engines: str, cite: str, expect: str = "") -> KeyRule:
    return KeyRule(Decision.INERT, engines, cite, expect)


def refused(
    engines: str, cite: str, sentence: str, reason: Reason | None = None, unset: tuple[Any, ...] | None = None
) -> KeyRule:
    return KeyRule(Decision.REFUSED, engines, cite, sentence, reason, unset)


class ConfigDocument(BaseModel):
    """A config file's declared keys. Subclasses set FILE, SCHEMA_REASON, REFUSED_REASON and UNKNOWN."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, protected_namespaces=())

    FILE: ClassVar[str]
    SCHEMA_REASON: ClassVar[Reason]  # a checked key of the wrong type or out of range
    REFUSED_REASON: ClassVar[Reason]  # a refused key, or an unknown one when UNKNOWN refuses
    UNKNOWN: ClassVar[KeyRule]

    @classmethod
    def rules(cls) -> dict[str, KeyRule]:
        found: dict[str, KeyRule] = {}
        for name, field in cls.model_fields.items():
            rule = next((item for item in field.metadata if isinstance(item, KeyRule)), None)
            assert rule is not None, f"{cls.__name__}.{name} has no KeyRule"
            found[field.alias or name] = rule
        return found

    @classmethod
    def markdown_table(cls) -> str:
        rows = [f"| `{cls.FILE}` key | decision | what the loaders do | where |", "|---|---|---|---|"]
        for key, rule in sorted(cls.rules().items()):
            rows.append(f"| `{key}` | {rule.decision.value} | {_cell(rule.engines)} | {_cell(rule.cite)} |")
        unknown = cls.UNKNOWN
        rows.append(f"| any other key | {unknown.decision.value} | {_cell(unknown.engines)} | {_cell(unknown.cite)} |")
        return "\n".join(rows) + "\n"


D = TypeVar("D", bound=ConfigDocument)


@dataclass(frozen=True)
class Screened:
    """What `screen` learned about a document besides its validated fields."""

    present: Mapping[str, Decision]  # every key the file holds, by the decision that applied to it

    def keys(self, decision: Decision) -> list[str]:
        return sorted(key for key, found in self.present.items() if found == decision)


def screen(model: type[D], document: Any, findings: Findings, *, at: str = "") -> tuple[D | None, Screened]:
    """Validate `document` against `model`; findings for every refused, unknown or invalid key.

    `at` is where the document sits inside its file when it is a nested object (`"text_config."`):
    sentences then name `text_config.hidden_size`. Returns the validated document (None if any
    checked key is invalid) and what was found.
    """
    file = model.FILE
    before = findings.error_count
    if not isinstance(document, dict):
        where = f"{file}: {at.rstrip('.')}" if at else file
        findings.error(model.SCHEMA_REASON, f"{where} must be a JSON object; found {_kind(document)}.", file=file)
        findings.checked(f"{file}.{at}keys", before)
        return None, Screened({})
    rules = model.rules()
    present: dict[str, Decision] = {}
    for key, value in document.items():
        rule = rules.get(key, model.UNKNOWN)
        present[key] = rule.decision
        if rule.decision == Decision.REFUSED and (key not in rules or _in_use(value, rule.unset)):
            what = rule.sentence if key in rules else model.UNKNOWN.sentence
            findings.error(rule.reason or model.REFUSED_REASON, f"{file}: {at}{key} {what}", file=file)
    valid: D | None = None
    try:
        valid = model.model_validate(document)
    except ValidationError as error:
        reported: set[str] = set()
        for problem in error.errors(include_url=False):
            key = str(problem["loc"][0]) if problem["loc"] else ""
            if key in reported:
                continue  # one sentence per key, however many union branches failed
            reported.add(key)
            known = rules.get(key)
            expect = known.sentence if known is not None and known.sentence else _expectation(problem)
            code = (known.reason if known is not None and known.reason else None) or model.SCHEMA_REASON
            shown = _value(document.get(key)) if key in document else "nothing (the key is required)"
            findings.error(code, f"{file}: {at}{key} must be {expect}; found {shown}.", file=file)
    detail = "; ".join(
        f"{decision.value}: {', '.join(keys)}"
        for decision in Decision
        if (keys := sorted(k for k, d in present.items() if d == decision))
    )
    findings.checked(f"{file}.{at}keys", before, detail[:500] or "no keys")
    return valid, Screened(present)


def not_compared(findings: Findings, name: str, why: str) -> None:
    """Record a comparison that could not be made (nothing to compare with): never 'passed'."""
    findings.check(name, Outcome.NOT_COMPARED, why)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _in_use(value: Any, unset: tuple[Any, ...] | None) -> bool:
    """Whether a refused key is in use. Null never is. A rule that lists `unset` values (the loaders'
    own defaults) leaves exactly those unused; otherwise false and empty values are unused too, which is
    how the libraries write the options they do not use. (`0 == False` in Python, so a plain membership
    test would also have let 0 through, for keys where 0 does something: forced_eos_token_id.)"""
    if value is None:
        return False
    if unset is not None:
        return not any(same_value(value, item) for item in unset)
    return not (value is False or (isinstance(value, str | list | dict) and not value))


def same_value(left: Any, right: Any) -> bool:
    """JSON equality without Python's `True == 1`: 1 and 1.0 are the same number, true is not 1."""
    stack = [(left, right)]
    while stack:
        a, b = stack.pop()
        if isinstance(a, bool) or isinstance(b, bool):
            if a is not b:
                return False
        elif isinstance(a, int | float) and isinstance(b, int | float):
            if a != b:
                return False
        elif isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((a[key], b[key]) for key in a)
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif type(a) is not type(b) or a != b:
            return False
    return True


def _expectation(problem: Mapping[str, Any]) -> str:
    kind = problem.get("type", "")
    context = problem.get("ctx") or {}
    if kind in ("int_type", "int_parsing"):
        return "an integer"
    if kind in ("float_type", "finite_number"):
        return "a finite number"
    if kind == "bool_type":
        return "true or false"
    if kind == "string_type":
        return "a string"
    if kind in ("list_type", "tuple_type"):
        return "a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "a JSON object"
    if kind == "greater_than_equal":
        return f"at least {context.get('ge')}"
    if kind == "greater_than":
        return f"greater than {context.get('gt')}"
    if kind == "less_than_equal":
        return f"at most {context.get('le')}"
    if kind == "less_than":
        return f"less than {context.get('lt')}"
    if kind == "literal_error":
        return f"one of {context.get('expected')}"
    if kind in ("string_too_long", "too_long"):
        return f"at most {context.get('max_length')} long"
    if kind in ("string_too_short", "too_short"):
        return f"at least {context.get('min_length')} long"
    if kind == "string_pattern_mismatch":
        return "a plain name"
    return str(problem.get("msg", "valid")).lower().removeprefix("input should be ").rstrip(".")


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _value(value: Any) -> str:
    # reprlib bounds depth and width before rendering: a value nested hundreds deep would make repr()
    # recurse past the interpreter's limit, and a huge list would be rendered whole just to be cut.
    text = _SHOWN_REPR.repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


_SHOWN_REPR = reprlib.Repr()
_SHOWN_REPR.maxlevel, _SHOWN_REPR.maxlist, _SHOWN_REPR.maxdict = 3, 8, 6
_SHOWN_REPR.maxstring = _SHOWN_REPR.maxlong = _SHOWN_REPR.maxother = _SHOWN


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
