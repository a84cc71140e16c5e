"""A clock that moves only when a test says so: back-offs, TTLs and windows without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """`now()` stands in for shared.types.utcnow, `monotonic()` for time.monotonic; both move
    together, and only by `advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        # Far from 0, as time.monotonic() is, so "never set" (0.0) stays in the past.
        return 10_000.0 + self.elapsed

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds
