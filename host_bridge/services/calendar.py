"""Exchange holidays: the non-business days the withdrawal windows skip."""

from __future__ import annotations

import datetime as dt

from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.errors import BridgeError
from host_bridge.repos import holidays
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.holdings import holiday_set


class CalendarService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def holidays(self) -> frozenset[dt.date]:
        with self.ctx.db.read() as tx:
            return holiday_set(tx)

    def holiday_list(self) -> list[tuple[dt.date, str | None]]:
        with self.ctx.db.read() as tx:
            return holidays.listing(tx)

    @unit_of_work
    def add_holiday(self, day: dt.date, name: str | None = None) -> bool:
        """Make `day` a non-business day. False if it already was one."""
        if name is not None and len(name) > MAX_DETAIL_TEXT:
            raise BridgeError(f"a holiday name is at most {MAX_DETAIL_TEXT} characters")
        with self.ctx.db.transaction() as tx:
            added = holidays.add(tx, day, name)
            self.ctx.audit("holiday.add", "ok" if added else "exists", day=day.isoformat())
        return added

    @unit_of_work
    def remove_holiday(self, day: dt.date) -> bool:
        """Make `day` an ordinary day again. False if it was not a holiday."""
        with self.ctx.db.transaction() as tx:
            removed = holidays.remove(tx, day)
            self.ctx.audit("holiday.remove", "ok" if removed else "absent", day=day.isoformat())
        return removed
