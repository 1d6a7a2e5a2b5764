"""`Policies`: the Secure Login System policies over one `Bridge` — a facade over the policy
services (withdrawals, opt-out, sharing, temporary access, orders, holidays).

Refusals that answer a question (a withdrawal, a sharing request, an opt-out change) come back as
decision objects. Refusals of an action that would otherwise produce something (a Temporary Code,
an Online SCC, a DSC+ order) raise `Refused` (exit 1) — after the refusal's audit row committed.
Bad input raises `BridgeError` (exit 2) and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from host_bridge.errors import Refused
from host_bridge.policies.devices import HeldDevice
from host_bridge.repos.orders import OrderRecord
from host_bridge.repos.shares import ShareRecord
from host_bridge.services.calendar import CalendarService
from host_bridge.services.holdings import held_devices
from host_bridge.services.optout import OptOutService
from host_bridge.services.orders import OrderService
from host_bridge.services.policy_config import PolicyConfig, load_policy_config
from host_bridge.services.sharing import SharingService
from host_bridge.services.softpin import SoftPinService
from host_bridge.services.temporary import IssuedCode, TemporaryService, TempRecord
from host_bridge.services.withdrawals import WithdrawalService

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge

__all__ = [
    "IssuedCode", "OrderRecord", "Policies", "PolicyConfig", "Refused", "ShareRecord",
    "TempRecord", "load_policy_config",
]


class Policies:
    """The policies over one `Bridge` (its store, clock, entropy, audit)."""

    def __init__(self, bridge: Bridge, config: PolicyConfig | None = None) -> None:
        self.bridge = bridge
        self.config = config or PolicyConfig()
        ctx = bridge.ctx
        self.ctx = ctx
        calendar = CalendarService(ctx)
        withdrawals = WithdrawalService(ctx, self.config)
        optout = OptOutService(ctx)
        sharing = SharingService(ctx, self.config, bridge.users, bridge.challenges)
        temporary = TemporaryService(ctx, self.config, bridge.provisioning)
        soft_pins = SoftPinService(ctx, sharing.consent)
        orders = OrderService(ctx, self.config, bridge.provisioning, soft_pins)
        self.holidays = calendar.holidays
        self.holiday_list = calendar.holiday_list
        self.add_holiday = calendar.add_holiday
        self.remove_holiday = calendar.remove_holiday
        self.withdraw = withdrawals.withdraw
        self.set_opt_out = optout.set_opt_out
        self.opt_out = optout.opt_out
        self.may_trade = optout.may_trade
        self.request_share = sharing.request_share
        self.share_challenge = sharing.share_challenge
        self.approve_share = sharing.approve_share
        self.refuse_share = sharing.refuse_share
        self.cancel_share = sharing.cancel_share
        self.ibkey_add_user = sharing.ibkey_add_user
        self.ibkey_remove_user = sharing.ibkey_remove_user
        self.shares = sharing.shares
        self.issue_temporary_code = temporary.issue_temporary_code
        self.check_temporary_code = temporary.check_temporary_code
        self.issue_online_scc = temporary.issue_online_scc
        self.reactivate = temporary.reactivate
        self.temp_status = temporary.temp_status
        self.order_dscplus = orders.order_dscplus
        self.ship_order = orders.ship_order
        self.activate_order = orders.activate_order
        self.return_order = orders.return_order
        self.report_lost = orders.report_lost
        self.sweep_orders = orders.sweep_orders
        self.send_notices = orders.send_notices
        self.notices = orders.notices
        self.pin_challenge = soft_pins.challenge
        self.change_pin = soft_pins.change
        self.orders = orders.orders
        self.order = orders.order

    def now(self) -> float:
        return self.ctx.clock()

    def today(self) -> dt.date:
        """The current date in UTC (the day a withdrawal without `--date` is booked on)."""
        return self.ctx.today()

    def held_devices(self, user: str) -> list[HeldDevice]:
        """Every device `user` may use (owned or shared) and any working Temporary Code."""
        with self.ctx.db.read() as tx:
            return held_devices(tx, user, self.ctx.clock())
