"""Quarters: parsing YYYY-QN, their last day, the previous one, the last completed one."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import ReporterError

_QUARTER = re.compile(r"(\d{4})-Q([1-4])\Z")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter (YYYY-QN) and its first and last days."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip().upper())
        if not match:
            raise ReporterError(f"{text!r} is not a quarter such as 2026-Q3")
        if int(match[1]) < 1:
            raise ReporterError(f"{text!r} is not a quarter such as 2026-Q3 (years start at 0001)")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        month = 3 * self.number
        return dt.date(self.year, month, 31 if month in (3, 12) else 30)

    @property
    def has_previous(self) -> bool:
        return (self.year, self.number) != (1, 1)

    def previous(self) -> Quarter:
        if not self.has_previous:
            raise ReporterError("0001-Q1 has no previous quarter")
        return Quarter(self.year - (self.number == 1), (self.number - 2) % 4 + 1)

    def ended_by(self, today: dt.date) -> bool:
        """A quarter has ended when today is past its last day."""
        return today > self.last_day

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.number}"


def last_completed(today: dt.date) -> Quarter:
    """The last quarter that ended before `today`."""
    return Quarter.containing(today).previous()
