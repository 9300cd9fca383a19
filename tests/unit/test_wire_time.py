"""`gmt_create`'s wire format, `YYYY-MM-DDTHH:MM:SS.mmm+00:00`, against an independent formatting."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from modelport.domain.jobs import format_gmt


def _reference(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000)) + f".{epoch_ms % 1000:03d}+00:00"


def test_known_instants() -> None:
    assert format_gmt(0) == "1970-01-01T00:00:00.000+00:00"
    assert format_gmt(1_764_358_216_007) == "2025-11-28T19:30:16.007+00:00"


@given(st.integers(min_value=0, max_value=253_402_300_799_999))  # up to 9999-12-31T23:59:59.999
def test_every_millisecond_formats_like_the_reference(epoch_ms: int) -> None:
    assert format_gmt(epoch_ms) == _reference(epoch_ms)
