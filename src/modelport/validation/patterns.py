"""Regular expressions from uploads (`target_modules`, `exclude_modules` given as a string), matched
in linear time with PEFT's semantics (`re.fullmatch(pattern, module_name)`).

Two engines meet here. The gate matches with RE2 (google-re2), which runs in time linear in the
input whatever the pattern, so no upload can stall validation. But the published
adapter_config.json is read again by whoever serves it, and PEFT matches with Python's
backtracking `re`: a pattern like `(.|.)*Z` would hang that loader even though the gate was fine.
So a pattern is accepted only in a form where both engines provably agree and backtracking stays
bounded, decided by a linear scan of the pattern itself, not by guessing:

- ASCII only, at most MAX_PATTERN_CHARS characters;
- literals `[A-Za-z0-9_-]`, the escapes `\\. \\- \\d \\w \\s \\D \\W \\S`, `.`, classes `[...]` of
  such characters and ranges, groups `(...)`, `(?:...)` and `(?P<name>...)`, `|`, `^` at the start
  and `$` at the end;
- quantifiers `* + ? {m} {m,} {m,n}` (bounds at most 100), greedy or lazy, on a single atom or on a
  group that holds no quantifier and no `|` (so no quantifier nests inside another, the source of
  exponential backtracking), and at most MAX_UNBOUNDED unbounded ones (so polynomial backtracking
  stays small on module names).

Anything else (lookarounds, backreferences, flags, possessive quantifiers, POSIX classes ...) is
refused with a sentence asking for a list of module names instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import re2

MAX_PATTERN_CHARS: Final = 256
MAX_UNBOUNDED: Final = 2
MAX_REPEAT: Final = 100

_LITERAL: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES: Final = frozenset(".-dwsDWS")
_CLASS_ESCAPES: Final = frozenset(".-dwsDWS]")
_REPEAT: Final = re.compile(r"\{(\d{1,3})(,(\d{0,3}))?\}")
_GROUP_NAME: Final = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]{0,31}>")


class PatternRefused(ValueError):
    """Why a pattern cannot be accepted, as the end of a sentence about the key."""


@dataclass(frozen=True)
class ModulePattern:
    text: str
    _compiled: Any  # re2's compiled pattern (the binding ships no type stubs)

    def fullmatch(self, name: str) -> bool:
        return self._compiled.fullmatch(name) is not None


def compile_module_pattern(text: str) -> ModulePattern:
    """The pattern, or PatternRefused saying what it uses that the gate does not accept."""
    if len(text) > MAX_PATTERN_CHARS:
        raise PatternRefused(f"is a pattern of {len(text)} characters; at most {MAX_PATTERN_CHARS} are accepted")
    if not text.isascii() or not text.isprintable():
        raise PatternRefused("is a pattern with non-ASCII or control characters")
    _Scanner(text).scan()
    try:
        re.compile(text)  # what PEFT will compile; the scan admits only what it compiles alike
    except (re.error, OverflowError, RecursionError) as error:
        raise PatternRefused(f"is not a valid regular expression ({error})") from None
    options = re2.Options()
    options.log_errors = False
    try:
        compiled = re2.compile(text, options)
    except re2.error as error:
        raise PatternRefused(f"is a pattern the linear-time engine cannot compile ({error})") from None
    return ModulePattern(text=text, _compiled=compiled)


@dataclass
class _Group:
    has_quantifier: bool = False
    has_alternation: bool = False


class _Scanner:
    """One pass over the pattern; raises PatternRefused at the first construct outside the subset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.stack: list[_Group] = [_Group()]
        self.unbounded = 0
        self.last_atom: str | None = None  # "char" or "group:<index>" for what a quantifier may follow
        self.closed: list[_Group] = []

    def scan(self) -> None:
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char in _LITERAL or char == ".":
                self._atom("char", 1)
            elif char == "\\":
                escaped = text[self.at + 1 : self.at + 2]
                if escaped not in _ESCAPES:
                    self._refuse(f"uses the escape \\{escaped}")
                self._atom("char", 2)
            elif char == "[":
                self._atom("char", self._class_length())
            elif char == "(":
                self._open()
            elif char == ")":
                self._close()
            elif char == "|":
                self.stack[-1].has_alternation = True
                self.last_atom = None
                self.at += 1
            elif char in "*+?{":
                self._quantifier()
            elif (char == "^" and self.at == 0) or (char == "$" and self.at == len(text) - 1):
                self.at += 1
            else:
                self._refuse(f"uses {char!r} where the gate does not accept it")
        if len(self.stack) != 1:
            self._refuse("has an unclosed group")

    def _atom(self, kind: str, length: int) -> None:
        self.last_atom = kind
        self.at += length

    def _class_length(self) -> int:
        text, start = self.text, self.at
        index = start + 1
        if text[index : index + 1] == "^":
            index += 1
        first = index
        while index < len(text) and text[index] != "]":
            char = text[index]
            if char == "\\":
                if text[index + 1 : index + 2] not in _CLASS_ESCAPES:
                    self._refuse("uses an escape inside a character class that the gate does not accept")
                index += 2
                continue
            if char not in _LITERAL and char != ".":
                self._refuse(f"uses {char!r} inside a character class")
            index += 1
        if index >= len(text) or index == first:
            self._refuse("has an empty or unclosed character class")
        return index + 1 - start

    def _open(self) -> None:
        text = self.text
        if text.startswith("(?:", self.at):
            length = 3
        elif text.startswith("(?", self.at):
            named = _GROUP_NAME.match(text, self.at)
            if named is None:
                self._refuse("uses a lookaround, a flag or another (?...) construct")
            length = named.end() - self.at
        else:
            length = 1
        self.stack.append(_Group())
        self.last_atom = None
        self.at += length

    def _close(self) -> None:
        if len(self.stack) == 1:
            self._refuse("closes a group that was never opened")
        group = self.stack.pop()
        parent = self.stack[-1]
        parent.has_quantifier |= group.has_quantifier
        parent.has_alternation |= group.has_alternation
        self.closed.append(group)
        self.last_atom = f"group:{len(self.closed) - 1}"
        self.at += 1

    def _quantifier(self) -> None:
        text = self.text
        if self.last_atom is None:
            self._refuse("has a quantifier with nothing to repeat, or a quantifier on a quantifier")
        if text[self.at] == "{":
            repeat = _REPEAT.match(text, self.at)
            if repeat is None:
                self._refuse("uses a {...} repetition the gate does not accept (write {m}, {m,} or {m,n})")
            low = int(repeat.group(1))
            high = repeat.group(3)
            unbounded = repeat.group(2) is not None and not high
            if low > MAX_REPEAT or (high and (int(high) > MAX_REPEAT or int(high) < low)):
                self._refuse(f"repeats more than {MAX_REPEAT} times, or with bounds out of order")
            length = repeat.end() - self.at
        else:
            unbounded = text[self.at] in "*+"
            length = 1
        if text[self.at + length : self.at + length + 1] == "?":
            length += 1  # lazy: the same language, another preference
        if text[self.at + length : self.at + length + 1] in ("+", "*", "?", "{"):
            self._refuse("puts a quantifier on a quantifier (or uses a possessive one)")
        assert self.last_atom is not None
        if self.last_atom.startswith("group:"):
            group = self.closed[int(self.last_atom.split(":", 1)[1])]
            if group.has_quantifier or group.has_alternation:
                self._refuse("repeats a group that itself repeats or alternates, which makes backtracking loaders slow")
        if unbounded:
            self.unbounded += 1
            if self.unbounded > MAX_UNBOUNDED:
                self._refuse(f"has more than {MAX_UNBOUNDED} unbounded repetitions (*, + or {{m,}})")
        self.stack[-1].has_quantifier = True
        self.last_atom = None
        self.at += length

    def _refuse(self, what: str) -> NoReturn:
        raise PatternRefused(f"{what} (at character {self.at + 1})")
