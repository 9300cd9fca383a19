"""Retry timing: doubling from the first delay, capped, jittered within bounds, and given up after
the maximum age, with a last attempt falling on the window's end."""

from __future__ import annotations

import itertools

import pytest

from modelport.webhooks.retry import RetryPolicy

POLICY = RetryPolicy(first_delay_seconds=5, max_delay_seconds=3600, max_age_seconds=86400)


def test_the_delay_doubles_per_failed_attempt_until_the_cap() -> None:
    middle = [POLICY.delay_seconds(n, draw=lambda: 0.5) for n in range(1, 14)]
    assert middle[:5] == [5, 10, 20, 40, 80]
    assert max(middle) == 3600 and middle[-1] == 3600
    assert all(later >= earlier for earlier, later in itertools.pairwise(middle))


def test_jitter_stays_within_a_fifth_of_the_nominal_delay_and_under_the_cap() -> None:
    assert POLICY.delay_seconds(3, draw=lambda: 0.0) == 16.0
    assert POLICY.delay_seconds(3, draw=lambda: 1.0) == pytest.approx(24.0)
    assert POLICY.delay_seconds(40, draw=lambda: 1.0) == 3600
    assert POLICY.delay_seconds(10**6, draw=lambda: 0.5) == 3600  # no overflow however many attempts


def test_no_attempt_is_scheduled_after_the_maximum_age() -> None:
    start = 1_000_000
    deadline = start + 86_400_000
    assert POLICY.next_attempt_at_ms(start, start, 1, draw=lambda: 0.5) == start + 5000
    assert POLICY.next_attempt_at_ms(deadline - 1000, start, 20, draw=lambda: 0.5) == deadline
    assert POLICY.next_attempt_at_ms(deadline, start, 21) is None
