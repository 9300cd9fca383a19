"""The application clock in epoch milliseconds (leases use the database clock instead)."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
