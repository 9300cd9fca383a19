"""Hypothesis strategies for JSON an attacker could upload, limited to what the strict parser lets
through (`modelport.strict_json`): any structure, 64-bit integers, large but finite floats, strings
of Unicode digits that int() would read, transformers' {"__float__": ...} tags, and nesting far
deeper than any config needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
DIGITS = st.sampled_from(["²", "١٥١٦٤٥", "𝟗", "١", "151645", "1e999", "NaN", "-0", "0x10", " 7", "", "true"])
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 1e-06, 2.0000001]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    st.integers(min_value=-3, max_value=300),
    FLOATS,
    DIGITS,
    st.text(max_size=12),
)
FLOAT_TAGS = st.fixed_dictionaries({"__float__": st.sampled_from(["NaN", "Infinity", "-Infinity", "1.0", ""])})


def nested(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for index in range(depth):
        value = [value] if index % 2 else {"x": value}
    return value


DEEP = st.integers(min_value=1, max_value=700).map(nested)


def values(keys: Iterable[str] = ()) -> st.SearchStrategy[Any]:
    """Any JSON value; objects draw their keys from `keys` as well as from random text."""
    names = st.one_of(st.sampled_from(sorted(keys) or ["x"]), st.text(max_size=8))
    return st.one_of(
        st.recursive(
            st.one_of(SCALARS, FLOAT_TAGS),
            lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(names, children, max_size=4)),
            max_leaves=12,
        ),
        DEEP,
    )


def edits(keys: Iterable[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Random values for some of `keys` (the known ones) and for a few unknown keys."""
    known = sorted(keys)
    return st.dictionaries(st.one_of(st.sampled_from(known), st.text(max_size=10)), values(known), max_size=6)
