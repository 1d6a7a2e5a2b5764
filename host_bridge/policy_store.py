"""The policies on the store: read users, devices and the ledger, decide, write the outcome.

Theory of operation: every public method of `Policies` is one unit of work inside
`Store.transaction()` (`BEGIN IMMEDIATE`): it takes the write lock first, reads what the pure
policy (`host_bridge.policies`) needs, decides, writes the outcome and its audit row, and commits.
Because the lock is held from the first read to the commit, two processes withdrawing on one
account are serialised: the second one sees the first one's withdrawal in the ledger, so together
they can never exceed a limit.

Refusals that answer a question (a withdrawal, a sharing request, an opt-out change) come back as
decision objects. Refusals of an action that would otherwise produce something (a Temporary Code,
an Online SCC, a DSC+ order) raise `Refused` (exit 1) — after the refusal's audit row committed.
Bad input raises `BridgeError` (exit 2) and changes nothing.

How store rows map to the policies (docs/policies.md):

* a device is *active* for the policies when its status is `active` and it has not expired;
* a working Temporary Code (a `temp_access` row) counts as a temporary device of its user;
* a user with no entity belongs to an entity of its own, named after its account;
* an identification whose document type is `ssn` carries the SSN (KB2481's "or SSN");
* the opt-out mode is an account setting, kept on every user row of the account;
* devices made redundant by sharing become `replaced` with `replaced_by` = the shared serial, so
  cancelling the sharing knows which to reactivate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from firmware_model.errors import SlsError
from firmware_model.models import random_digits
from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.errors import BridgeError
from host_bridge.passwords import PasswordHash, ScryptParams, check_password, hash_password
from host_bridge.policies import sharing as sh
from host_bridge.policies import temporary as tmp
from host_bridge.policies.calendar import window
from host_bridge.policies.devices import KNOWN_MODELS, NO_DEVICE, TEMPORARY, HeldDevice
from host_bridge.policies.optout import (
    ModeChange,
    ModeDecision,
    OptOut,
    decide_mode_change,
    may_trade,
)
from host_bridge.policies.ordering import (
    DEFAULT_ORDERING,
    Hold,
    OrderEvent,
    OrderingConfig,
    OrderState,
    auto_activation_due,
    check_soft_pin,
    dscplus_eligibility,
    hold_state,
    next_order_state,
)
from host_bridge.policies.withdrawal import (
    DEFAULT_LIMITS,
    Limit,
    Withdrawal,
    WithdrawalDecision,
    able_devices,
    check_amount,
    check_withdrawal,
    ledger_usage,
)
from host_bridge.service import Bridge
from host_bridge.store import DeviceRecord, UserRecord
from slsio.toml import TomlError, read_toml

TEMP_CODE_SCRYPT: Final = ScryptParams()
"""Temporary Codes are hashed with fixed scrypt parameters (`temp_access` stores none)."""

_MAX_AUDIT_TEXT: Final = MAX_DETAIL_TEXT  # texts that go into an audit row
_TEMP_KIND: Final = {
    "temporary_code": tmp.Credential.TEMPORARY_CODE,
    "online_scc": tmp.Credential.ONLINE_SCC,
}


class Refused(SlsError):
    """A policy refused an action (a Temporary Code, an Online SCC, an order): a negative answer."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The policies' configuration; defaults follow the seed (docs/policies.md)."""

    limits: Mapping[str, Limit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    temporary: tmp.TemporaryConfig = tmp.DEFAULT_TEMPORARY
    ordering: OrderingConfig = DEFAULT_ORDERING
    temp_code_digits: int = 8
    needs_compliance: Callable[[sh.ShareRequest], bool] = sh.different_entities

    def __post_init__(self) -> None:
        if not 6 <= self.temp_code_digits <= 16:
            raise ValueError("a Temporary Code has 6 to 16 digits")


POLICY_FILE_NAME: Final = "policies.toml"
_USD_PER: Final = 100


def load_policy_config(home: Path) -> PolicyConfig:
    """Defaults, overridden by `home/policies.toml` if it exists (docs/policies.md).

    Amounts are whole US dollars; a withdrawal limit is `[per_day, per_window]` with the word
    "unlimited" for no cap. Unknown or malformed settings raise `BridgeError`.
    """
    path = home / POLICY_FILE_NAME
    try:
        data = read_toml(path)
    except FileNotFoundError:
        return PolicyConfig()
    except TomlError as exc:
        raise BridgeError(str(exc)) from None
    try:
        return _config_from(data)
    except (ValueError, TypeError) as exc:
        raise BridgeError(f"{path}: {exc}") from None


def _config_from(data: Mapping[str, Any]) -> PolicyConfig:
    unknown = set(data) - {"withdrawal_limits", "ordering", "temporary"}
    if unknown:
        raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}")
    limits = dict(DEFAULT_LIMITS)
    for model, pair in _table(data, "withdrawal_limits").items():
        if model not in KNOWN_MODELS | {NO_DEVICE}:
            raise ValueError(f"withdrawal_limits: unknown device model {model!r}")
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"withdrawal_limits.{model} must be [per_day, per_window]")
        limits[model] = Limit(*(None if v == "unlimited" else _cents(v, model) for v in pair))
    ordering = _table(data, "ordering")
    _only(
        ordering,
        "ordering",
        {"mobile_client_balance", "additional_device_equity", "hold", "auto_activation_days"},
    )
    base = DEFAULT_ORDERING
    order_config = OrderingConfig(
        mobile_client_balance_cents=_cents(
            ordering.get("mobile_client_balance", base.mobile_client_balance_cents // _USD_PER),
            "mobile_client_balance",
        ),
        additional_device_equity_cents=_cents(
            ordering.get(
                "additional_device_equity", base.additional_device_equity_cents // _USD_PER
            ),
            "additional_device_equity",
        ),
        hold_cents=_cents(ordering.get("hold", base.hold_cents // _USD_PER), "hold"),
        auto_activation=dt.timedelta(
            days=_count(
                ordering.get("auto_activation_days", base.auto_activation.days),
                "auto_activation_days",
            )
        ),
    )
    temporary = _table(data, "temporary")
    _only(
        temporary,
        "temporary",
        {"full_access_days", "portal_only_days", "online_scc_days", "code_digits"},
    )
    defaults = tmp.DEFAULT_TEMPORARY
    temp_config = tmp.TemporaryConfig(
        full_access=dt.timedelta(
            days=_count(
                temporary.get("full_access_days", defaults.full_access.days), "full_access_days"
            )
        ),
        portal_only=dt.timedelta(
            days=_count(
                temporary.get("portal_only_days", defaults.portal_only.days), "portal_only_days"
            )
        ),
        online_scc_validity=dt.timedelta(
            days=_count(
                temporary.get("online_scc_days", defaults.online_scc_validity.days),
                "online_scc_days",
            )
        ),
    )
    return PolicyConfig(
        limits=limits,
        temporary=temp_config,
        ordering=order_config,
        temp_code_digits=_count(temporary.get("code_digits", 8), "code_digits"),
    )


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"{name} must be a table")
    return table


def _only(table: Mapping[str, Any], name: str, known: set[str]) -> None:
    unknown = set(table) - known
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(f'{name}.{k}' for k in sorted(unknown))}")


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValueError(f"{name} must be a whole number from 0 to 10000")
    return value


def _cents(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise ValueError(f'{name}: an amount is a whole number of US dollars or "unlimited"')
    return value * _USD_PER


@dataclass(frozen=True, slots=True)
class ShareRecord:
    """One row of `share_requests`."""

    id: int
    requester: str
    owner: str
    serial: str
    state: sh.ShareState
    reason: str | None
    created: float
    decided: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requester": self.requester,
            "owner": self.owner,
            "serial": self.serial,
            "status": self.state.value,
            "reason": self.reason,
            "created": self.created,
            "decided": self.decided,
        }


@dataclass(frozen=True, slots=True)
class TempRecord:
    """One row of `temp_access` (never its code hash), with the access it gives at `now`."""

    id: int
    user: str
    kind: str
    serial: str | None
    issued: float
    full_until: float
    portal_until: float
    status: str
    access: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "kind": self.kind,
            "serial": self.serial,
            "issued": self.issued,
            "full_until": self.full_until,
            "portal_until": self.portal_until,
            "status": self.status,
            "access": self.access,
        }


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A Temporary Code just issued: `code` is shown once and never stored."""

    code: str = field(repr=False)
    record: TempRecord


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One row of `orders`."""

    id: int
    user: str
    model: str
    state: OrderState
    serial: str | None
    ordered: float
    shipped: float | None
    auto_activate_by: float | None
    hold_cents: int

    @property
    def hold(self) -> Hold:
        return hold_state(self.state)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "model": self.model,
            "status": self.state.value,
            "serial": self.serial,
            "ordered": self.ordered,
            "shipped": self.shipped,
            "auto_activate_by": self.auto_activate_by,
            "hold_cents": self.hold_cents,
            "hold": self.hold.value,
        }


class Policies:
    """The Secure Login System policies over one `Bridge` (its store, clock, entropy, audit)."""

    def __init__(self, bridge: Bridge, config: PolicyConfig | None = None) -> None:
        self.bridge = bridge
        self.store = bridge.store
        self.config = config or PolicyConfig()

    # --- time -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.bridge.clock()

    def today(self) -> dt.date:
        """The current date in UTC (the day a withdrawal without `--date` is booked on)."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC).date()

    # --- holidays ---------------------------------------------------------------------------

    def holidays(self) -> frozenset[dt.date]:
        rows = self.store.connection.execute("SELECT date FROM holidays")
        return frozenset(dt.date.fromisoformat(r[0]) for r in rows)

    def holiday_list(self) -> list[tuple[dt.date, str | None]]:
        rows = self.store.connection.execute("SELECT date, name FROM holidays ORDER BY date")
        return [(dt.date.fromisoformat(r[0]), r[1]) for r in rows]

    def add_holiday(self, day: dt.date, name: str | None = None) -> bool:
        """Make `day` a non-business day. False if it already was one."""
        if name is not None and len(name) > _MAX_AUDIT_TEXT:
            raise BridgeError(f"a holiday name is at most {_MAX_AUDIT_TEXT} characters")
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO holidays (date, name) VALUES (?, ?)", (day.isoformat(), name)
            )
            added = cursor.rowcount == 1
            self._audit("holiday.add", "ok" if added else "exists", day=day.isoformat())
        return added

    def remove_holiday(self, day: dt.date) -> bool:
        """Make `day` an ordinary day again. False if it was not a holiday."""
        with self.store.transaction() as conn:
            cursor = conn.execute("DELETE FROM holidays WHERE date = ?", (day.isoformat(),))
            removed = cursor.rowcount == 1
            self._audit("holiday.remove", "ok" if removed else "absent", day=day.isoformat())
        return removed

    # --- devices as the policies see them ---------------------------------------------------

    def held_devices(self, user: str) -> list[HeldDevice]:
        """Every device `user` may use (owned or shared) and any working Temporary Code."""
        now = self.now()
        held = [_held(record, now) for record in self.store.devices_of(user)]
        for row in self.store.connection.execute(
            "SELECT id FROM temp_access WHERE user = ? AND kind = 'temporary_code' "
            "AND status = 'active' AND portal_until > ?",
            (user, now),
        ):
            held.append(HeldDevice(f"temporary-code-{row[0]}", TEMPORARY, temporary=True))
        return held

    # --- withdrawals ------------------------------------------------------------------------

    def withdraw(
        self, user: str, serial: str, amount_cents: int, day: dt.date | None = None
    ) -> WithdrawalDecision:
        """Check a withdrawal confirmed with device `serial` and book it if allowed.

        The read of the ledger, the check and the insert are one `BEGIN IMMEDIATE` transaction.
        Raises `BridgeError` for an unknown user, a device that is not the user's, a non-positive
        amount or a date before the account's latest withdrawal.
        """
        day = day or self.today()
        now = self.now()
        with self.store.transaction() as conn:
            record = self.store.get_user(user)
            linked = {d.serial: d for d in self.store.devices_of(user)}
            if serial not in linked:
                raise BridgeError(f"device {serial!r} is not one of {user}'s devices")
            device = linked[serial]
            holidays = self.holidays()
            devices = self.held_devices(user)
            try:
                ledger = self._ledger(conn, record.account, day, holidays)
                if _usable(device, now):
                    decision = check_withdrawal(
                        amount_cents,
                        day,
                        device.model,
                        ledger,
                        holidays,
                        devices,
                        limits=self.config.limits,
                        opt_out=OptOut(record.opt_out),
                    )
                else:
                    decision = self._unusable(device, amount_cents, day, ledger, holidays, devices)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            if decision.allowed:
                conn.execute(
                    "INSERT INTO withdrawals (account, user, serial, amount_cents, business_date, "
                    "created) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.account,
                        user,
                        serial,
                        amount_cents,
                        decision.business_day.isoformat(),
                        now,
                    ),
                )
            self._audit(
                "withdraw",
                "allowed" if decision.allowed else "denied",
                user=user,
                serial=serial,
                amount_cents=amount_cents,
                business_date=decision.business_day.isoformat(),
                day_room=decision.day_room,
                window_room=decision.window_room,
                alternatives=",".join(decision.alternatives)[:_MAX_AUDIT_TEXT],
            )
        return decision

    def _ledger(
        self, conn: sqlite3.Connection, account: str, day: dt.date, holidays: frozenset[dt.date]
    ) -> list[Withdrawal]:
        # Everything from the window's first day on: the window itself, plus any later entry so
        # the policy can refuse a back-dated withdrawal.
        start = window(day, holidays)[0]
        rows = conn.execute(
            "SELECT business_date, amount_cents FROM withdrawals "
            "WHERE account = ? AND business_date >= ?",
            (account, start.isoformat()),
        )
        return [Withdrawal(dt.date.fromisoformat(r[0]), int(r[1])) for r in rows]

    def _unusable(
        self,
        device: DeviceRecord,
        amount_cents: int,
        day: dt.date,
        ledger: Sequence[Withdrawal],
        holidays: frozenset[dt.date],
        devices: Sequence[HeldDevice],
    ) -> WithdrawalDecision:
        """A device that cannot confirm anything now (locked, pending, revoked, expired)."""
        check_amount(amount_cents)
        business_day, used_day, used_window = ledger_usage(day, ledger, holidays)
        others = [d for d in devices if d.serial != device.serial]
        alternatives = able_devices(amount_cents, used_day, used_window, others, self.config.limits)
        state = "expired" if device.status == "active" else device.status
        reason = f"device {device.serial} is {state} and cannot confirm a withdrawal"
        reason += f"; confirm it with {', '.join(alternatives)}" if alternatives else ""
        return WithdrawalDecision(False, reason, business_day, 0, 0, alternatives)

    # --- opt-out ----------------------------------------------------------------------------

    def set_opt_out(self, actor: str, mode: OptOut) -> ModeDecision:
        """Change the account's Secure Login mode; only its primary user may (KB2545)."""
        with self.store.transaction() as conn:
            record = self.store.get_user(actor)
            current = OptOut(record.opt_out)
            if record.primary_user:
                primary: str | None = actor
            else:
                row = conn.execute(
                    "SELECT name FROM users WHERE account = ? AND primary_user = 1 "
                    "ORDER BY name LIMIT 1",
                    (record.account,),
                ).fetchone()
                primary = None if row is None else str(row[0])
            if primary is None:
                decision = ModeDecision(
                    False,
                    f"account {record.account} has no primary user to change its "
                    "Secure Login settings",
                    current,
                    False,
                )
            else:
                decision = decide_mode_change(
                    ModeChange(actor, record.primary_user, primary, current, mode)
                )
            if decision.changed:
                conn.execute(
                    "UPDATE users SET opt_out = ? WHERE account = ?",
                    (decision.mode.value, record.account),
                )
            self._audit(
                "optout.set",
                "changed" if decision.changed else ("unchanged" if decision.allowed else "refused"),
                user=actor,
                requested=mode.value,
                mode=decision.mode.value,
            )
        return decision

    def opt_out(self, user: str) -> OptOut:
        return OptOut(self.store.get_user(user).opt_out)

    def may_trade(self, user: str, venue: str) -> bool:
        """Whether `user`'s account may trade on `venue` (opted-out: no Pink Sheet / OTCBB)."""
        return may_trade(self.opt_out(user), venue)

    # --- sharing ----------------------------------------------------------------------------

    def request_share(self, requester: str, serial: str) -> tuple[ShareRecord, sh.ShareDecision]:
        """`requester` asks to use device `serial` (KB2481). Applied at once when approved."""
        now = self.now()
        with self.store.transaction() as conn:
            self.store.get_user(requester)
            self.store.get_device(serial)
            users = self.store.users_of(serial)
            owners = [name for name, role in users if role == "owner"]
            if not owners:
                raise BridgeError(f"device {serial} has no owner")
            if requester in (name for name, _ in users):
                raise BridgeError(f"user {requester} already uses device {serial}")
            if conn.execute(
                "SELECT 1 FROM share_requests WHERE requester = ? AND serial = ? "
                "AND status = 'pending'",
                (requester, serial),
            ).fetchone():
                raise BridgeError(f"a request of {requester} for {serial} is already pending")
            co_users = [name for name, role in users if role != "owner"]
            decision = sh.decide_share(
                self._share_request(serial, owners[0], requester, co_users),
                self.config.needs_compliance,
            )
            decided = None if decision.state is sh.ShareState.PENDING else now
            cursor = conn.execute(
                "INSERT INTO share_requests (requester, owner, serial, status, reason, created, "
                "decided) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (requester, owners[0], serial, decision.state.value, decision.reason, now, decided),
            )
            request_id = int(cursor.lastrowid or 0)
            if decision.state is sh.ShareState.APPROVED:
                self._apply_share(serial, requester, decision.redundant, now)
            self._audit(
                "share.request",
                decision.state.value,
                user=requester,
                serial=serial,
                request=request_id,
                reason=decision.reason,
                detail=decision.detail[:200],
            )
            return self._share(request_id), decision

    def approve_share(self, request_id: int) -> tuple[ShareRecord, sh.ShareDecision]:
        """Compliance approves a pending request; the prerequisites are checked again first."""
        now = self.now()
        with self.store.transaction() as conn:
            record = self._share(request_id)
            if record.state is not sh.ShareState.PENDING:
                raise BridgeError(f"cannot approve a sharing request that is {record.state.value}")
            users = self.store.users_of(record.serial)
            co_users = [n for n, role in users if role != "owner" and n != record.requester]
            decision = sh.decide_share(
                self._share_request(record.serial, record.owner, record.requester, co_users),
                lambda _request: False,
            )
            event = (
                sh.ShareEvent.REFUSE
                if decision.state is sh.ShareState.REFUSED
                else sh.ShareEvent.APPROVE
            )
            state = sh.next_state(record.state, event)
            conn.execute(
                "UPDATE share_requests SET status = ?, reason = ?, decided = ? WHERE id = ?",
                (state.value, decision.reason, now, request_id),
            )
            if state is sh.ShareState.APPROVED:
                self._apply_share(record.serial, record.requester, decision.redundant, now)
            self._audit(
                "share.approve",
                state.value,
                user=record.requester,
                serial=record.serial,
                request=request_id,
                reason=decision.reason,
            )
            return self._share(request_id), decision

    def refuse_share(self, request_id: int, reason: str = "refused by compliance") -> ShareRecord:
        """Compliance refuses a pending request."""
        return self._end_share(request_id, sh.ShareEvent.REFUSE, reason)

    def cancel_share(self, request_id: int) -> ShareRecord:
        """Cancel a pending or approved sharing; the requester's redundant devices come back."""
        return self._end_share(request_id, sh.ShareEvent.CANCEL, "cancelled")

    def ibkey_add_user(self, serial: str, user: str, password: str) -> None:
        """IBKR Mobile's "Add user" (KB2481's note): enable one more user on an IB Key app once
        that user's own credentials are checked. Not subject to KB2481's prerequisites.

        Raises `Refused` for wrong credentials, `BridgeError` for anything but an active IB Key.
        """
        if not self.bridge.check_password(user, password):
            raise Refused("wrong user name or password")
        now = self.now()
        with self.store.transaction():
            device = self.store.get_device(serial)
            if device.model != "ibkey":
                raise BridgeError(
                    f"Add user is for IB Key; share the {device.model} {serial} with a "
                    "sharing request"
                )
            if not _usable(device, now):
                raise BridgeError(f"device {serial} is {device.status}")
            if user in (name for name, _ in self.store.users_of(serial)):
                raise BridgeError(f"user {user} already uses device {serial}")
            self.store.link_user(serial, user, now, role="shared")
            self._audit("ibkey.add_user", "ok", user=user, serial=serial)

    def ibkey_remove_user(self, serial: str, user: str) -> None:
        """Remove a user added with "Add user" (never the app's owner)."""
        with self.store.transaction():
            if (user, "shared") not in self.store.users_of(serial):
                raise BridgeError(f"user {user} was not added to device {serial}")
            if self.store.get_device(serial).model != "ibkey":
                raise BridgeError(f"device {serial} is not an IB Key")
            self.store.unlink_user(serial, user)
            self._audit("ibkey.remove_user", "ok", user=user, serial=serial)

    def shares(self, user: str | None = None) -> list[ShareRecord]:
        query = "SELECT id FROM share_requests"
        params: tuple[str, ...] = ()
        if user is not None:
            query += " WHERE requester = ? OR owner = ?"
            params = (user, user)
        ids = [int(r[0]) for r in self.store.connection.execute(query + " ORDER BY id", params)]
        return [self._share(i) for i in ids]

    def _end_share(self, request_id: int, event: sh.ShareEvent, reason: str) -> ShareRecord:
        if len(reason) > _MAX_AUDIT_TEXT:
            raise BridgeError(f"a reason is at most {_MAX_AUDIT_TEXT} characters")
        now = self.now()
        with self.store.transaction() as conn:
            record = self._share(request_id)
            try:
                state = sh.next_state(record.state, event)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            conn.execute(
                "UPDATE share_requests SET status = ?, reason = ?, decided = ? WHERE id = ?",
                (state.value, reason, now, request_id),
            )
            reactivated: list[str] = []
            if record.state is sh.ShareState.APPROVED:
                self.store.unlink_user(record.serial, record.requester)
                for device in self.store.devices_of(record.requester, ("replaced",)):
                    if device.replaced_by == record.serial:
                        self.store.update_device(
                            device.serial, now, status="active", replaced_by=None
                        )
                        reactivated.append(device.serial)
            self._audit(
                f"share.{event.value}",
                state.value,
                user=record.requester,
                serial=record.serial,
                request=request_id,
                reactivated=",".join(reactivated)[:_MAX_AUDIT_TEXT],
            )
            return self._share(request_id)

    def _apply_share(
        self, serial: str, requester: str, redundant: Sequence[str], now: float
    ) -> None:
        self.store.link_user(serial, requester, now, role="shared")
        for other in redundant:
            # Only a device the requester alone uses becomes redundant: deactivating a device
            # someone else also uses would lock that user out.
            if self.store.users_of(other) == [(requester, "owner")]:
                self.store.update_device(other, now, status="replaced", replaced_by=serial)

    def _share_request(
        self, serial: str, owner: str, requester: str, co_users: Sequence[str]
    ) -> sh.ShareRequest:
        try:
            return sh.ShareRequest(
                serial,
                self._participant(owner),
                self._participant(requester),
                tuple(self._participant(name) for name in co_users),
            )
        except ValueError as exc:
            raise BridgeError(str(exc)) from None

    def _participant(self, name: str) -> sh.Participant:
        record = self.store.get_user(name)
        return sh.Participant(
            user=name,
            entity=record.entity or f"account:{record.account}",
            identification=_identification(record),
            devices=tuple(self.held_devices(name)),
        )

    def _share(self, request_id: int) -> ShareRecord:
        row = self.store.connection.execute(
            "SELECT id, requester, owner, serial, status, reason, created, decided "
            "FROM share_requests WHERE id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            raise BridgeError(f"no sharing request {request_id}")
        return ShareRecord(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            sh.ShareState(row[4]),
            row[5],
            float(row[6]),
            row[7],
        )

    # --- Temporary Code and Online SCC ------------------------------------------------------

    def issue_temporary_code(self, user: str) -> IssuedCode:
        """Issue a Temporary Code (KB70): never two in a row. Raises `Refused`."""
        now = self.now()
        refusal: str | None = None
        with self.store.transaction() as conn:
            self.store.get_user(user)
            decision = tmp.may_issue_temporary_code(self._last_credential(user))
            if not decision.allowed:
                refusal = decision.reason
                self._audit(
                    "temp.issue",
                    "refused",
                    user=user,
                    kind="temporary_code",
                    reason=decision.reason[:_MAX_AUDIT_TEXT],
                )
            else:
                code = random_digits(self.config.temp_code_digits, self.bridge.entropy)
                hashed = hash_password(code, TEMP_CODE_SCRYPT)
                config = self.config.temporary
                full_until = now + config.full_access.total_seconds()
                portal_until = full_until + config.portal_only.total_seconds()
                cursor = conn.execute(
                    "INSERT INTO temp_access (user, kind, code_hash, code_salt, serial, issued, "
                    "full_until, portal_until, status) "
                    "VALUES (?, 'temporary_code', ?, ?, NULL, ?, ?, ?, 'active')",
                    (user, hashed.digest, hashed.salt, now, full_until, portal_until),
                )
                row_id = int(cursor.lastrowid or 0)
                self._audit("temp.issue", "ok", user=user, kind="temporary_code", id=row_id)
        if refusal is not None:
            raise Refused(refusal)
        return IssuedCode(code, self._temp(row_id, now))

    def check_temporary_code(self, user: str, code: str) -> tmp.Access | None:
        """The access `code` gives `user` now, or None if it is none of their working codes."""
        now = self.now()
        rows = self.store.connection.execute(
            "SELECT id, code_hash, code_salt, issued FROM temp_access WHERE user = ? "
            "AND kind = 'temporary_code' AND status = 'active' ORDER BY issued DESC",
            (user,),
        ).fetchall()
        for row in rows:
            stored = PasswordHash(bytes(row[1]), bytes(row[2]), TEMP_CODE_SCRYPT)
            if check_password(stored, code):
                access = tmp.temporary_code_access(
                    _utc(float(row[3])), _utc(now), self.config.temporary
                )
                self._audit("temp.check", access.value, user=user, id=int(row[0]))
                return access
        self._audit("temp.check", "refused", user=user)
        return None

    def issue_online_scc(self, user: str, image_path: Path | None) -> TempRecord:
        """Print an Online SCC (KB1873) with a working Temporary Code; valid 21 days."""
        now = self.now()
        refusal: str | None = None
        with self.store.transaction() as conn:
            self.store.get_user(user)
            row = conn.execute(
                "SELECT issued FROM temp_access WHERE user = ? AND kind = 'temporary_code' "
                "AND status = 'active' ORDER BY issued DESC LIMIT 1",
                (user,),
            ).fetchone()
            access = (
                None
                if row is None
                else tmp.temporary_code_access(
                    _utc(float(row[0])), _utc(now), self.config.temporary
                )
            )
            decision = tmp.may_issue_online_scc(access)
            if not decision.allowed:
                refusal = decision.reason
                self._audit("temp.online_scc", "refused", user=user, reason=decision.reason)
            else:
                valid_until = now + self.config.temporary.online_scc_validity.total_seconds()
                written = False
                try:
                    result = self.bridge.provision(
                        user, "online_scc", valid_until=valid_until, image_path=image_path
                    )
                    written = image_path is not None
                    cursor = conn.execute(
                        "INSERT INTO temp_access (user, kind, code_hash, code_salt, serial, "
                        "issued, full_until, portal_until, status) "
                        "VALUES (?, 'online_scc', NULL, NULL, ?, ?, ?, ?, 'active')",
                        (user, result.serial, now, valid_until, valid_until),
                    )
                    row_id = int(cursor.lastrowid or 0)
                    self._audit(
                        "temp.online_scc",
                        "ok",
                        user=user,
                        serial=result.serial,
                        valid_until=valid_until,
                    )
                except BaseException:
                    _discard(image_path if written else None)
                    raise
        if refusal is not None:
            raise Refused(refusal)
        return self._temp(row_id, now)

    def reactivate(self, user: str, serial: str) -> None:
        """With a valid Online SCC, make the user's permanent device `serial` active again; the
        temporary credentials end (KB1873, KB1942)."""
        now = self.now()
        with self.store.transaction() as conn:
            devices = {d.serial: d for d in self.store.devices_of(user)}
            target = devices.get(serial)
            if target is None or target.temporary or target.model == "online_scc":
                raise BridgeError(f"{serial!r} is not a permanent device of {user}")
            if target.status not in ("locked", "revoked") or target.replaced_by is not None:
                raise BridgeError(f"device {serial} is {target.status}; nothing to reactivate")
            scc_ok = any(
                d.model == "online_scc"
                and _usable(d, now)
                and tmp.online_scc_allows(
                    _utc(d.valid_until or 0), _utc(now), tmp.Action.REACTIVATE_DEVICE
                )
                for d in devices.values()
            )
            if not scc_ok:
                raise Refused("reactivating a device needs a valid Online Security Code Card")
            self.store.update_device(serial, now, status="active", failures=0, activated=now)
            conn.execute(
                "UPDATE temp_access SET status = 'replaced' WHERE user = ? AND status = 'active'",
                (user,),
            )
            for device in devices.values():
                if device.model == "online_scc" and device.status == "active":
                    self.store.update_device(device.serial, now, status="revoked")
            self._audit("temp.reactivate", "ok", user=user, serial=serial)

    def temp_status(self, user: str) -> list[TempRecord]:
        self.store.get_user(user)
        now = self.now()
        ids = self.store.connection.execute(
            "SELECT id FROM temp_access WHERE user = ? ORDER BY issued, id", (user,)
        )
        return [self._temp(int(r[0]), now) for r in ids.fetchall()]

    def _last_credential(self, user: str) -> tmp.Credential | None:
        conn = self.store.connection
        temp = conn.execute(
            "SELECT kind, issued FROM temp_access WHERE user = ? ORDER BY issued DESC, id DESC "
            "LIMIT 1",
            (user,),
        ).fetchone()
        permanent = max(
            (
                d.activated
                for d in self.store.devices_of(user)
                if not d.temporary and d.model != "online_scc" and d.activated is not None
            ),
            default=None,
        )
        if temp is not None and (permanent is None or float(temp[1]) >= permanent):
            return _TEMP_KIND[temp[0]]
        return None if permanent is None else tmp.Credential.PERMANENT

    def _temp(self, row_id: int, now: float) -> TempRecord:
        row = self.store.connection.execute(
            "SELECT id, user, kind, serial, issued, full_until, portal_until, status "
            "FROM temp_access WHERE id = ?",
            (row_id,),
        ).fetchone()
        if row is None:
            raise BridgeError(f"no temporary access {row_id}")
        issued, full_until, portal_until, status = (
            float(row[4]),
            float(row[5]),
            float(row[6]),
            str(row[7]),
        )
        if status != "active":
            access = status
        elif row[2] == "temporary_code":
            access = tmp.temporary_code_access(
                _utc(issued), _utc(max(now, issued)), self.config.temporary
            ).value
        else:
            access = "valid" if now < portal_until else "expired"
        return TempRecord(
            int(row[0]), row[1], row[2], row[3], issued, full_until, portal_until, status, access
        )

    # --- DSC+ orders ------------------------------------------------------------------------

    def order_dscplus(
        self, user: str, soft_pin: str, image_path: Path | None, *, replacing: bool = False
    ) -> OrderRecord:
        """Order a DSC+ (KB1943): eligibility, a 4-digit Soft PIN, the USD 20 hold. The card is
        provisioned now (image written to `image_path`) and stays `pending` until activated."""
        try:
            check_soft_pin(soft_pin, self.config.ordering)
        except ValueError as exc:
            raise BridgeError(str(exc)) from None
        now = self.now()
        refusal: str | None = None
        with self.store.transaction() as conn:
            record = self.store.get_user(user)
            open_order = (
                conn.execute(
                    "SELECT 1 FROM orders WHERE user = ? AND status IN ('ordered', 'shipped')",
                    (user,),
                ).fetchone()
                is not None
            )
            eligibility = dscplus_eligibility(
                record.equity_cents,
                record.balance_cents,
                self.held_devices(user),
                replacing=replacing,
                open_order=open_order,
                config=self.config.ordering,
            )
            if not eligibility.allowed:
                refusal = eligibility.reason
                self._audit("order.dscplus", "refused", user=user, reason=eligibility.reason)
            else:
                written = False
                try:
                    result = self.bridge.provision(
                        user, "dscplus", pin=soft_pin, image_path=image_path, pending=True
                    )
                    written = image_path is not None
                    cursor = conn.execute(
                        "INSERT INTO orders (user, model, status, serial, pin_enc, ordered, "
                        "hold_cents, hold_released) VALUES (?, 'dscplus', 'ordered', ?, NULL, ?, "
                        "?, 0)",
                        (user, result.serial, now, self.config.ordering.hold_cents),
                    )
                    order_id = int(cursor.lastrowid or 0)
                    self._audit(
                        "order.dscplus",
                        "ordered",
                        user=user,
                        serial=result.serial,
                        order=order_id,
                        why=eligibility.reason[:_MAX_AUDIT_TEXT],
                        hold_cents=self.config.ordering.hold_cents,
                    )
                except BaseException:
                    _discard(image_path if written else None)
                    raise
        if refusal is not None:
            raise Refused(refusal)
        return self.order(order_id)

    def ship_order(self, order_id: int, day: dt.date | None = None) -> OrderRecord:
        """The card left the warehouse on `day` (default today): auto-activation is scheduled."""
        shipped = _midnight(day) if day is not None else self.now()
        if day is not None and day < _utc(self.order(order_id).ordered).date():
            raise BridgeError(f"order {order_id} cannot ship before it was placed")
        by = shipped + self.config.ordering.auto_activation.total_seconds()
        return self._order_event(order_id, OrderEvent.SHIP, shipped=shipped, auto_activate_by=by)

    def activate_order(self, order_id: int) -> OrderRecord:
        """The client activates the shipped card (the other devices stay active: M2FS)."""
        return self._order_event(order_id, OrderEvent.ACTIVATE)

    def return_order(self, order_id: int) -> OrderRecord:
        """The card came back to the broker: the USD 20 hold is released."""
        return self._order_event(order_id, OrderEvent.RETURN)

    def report_lost(self, serial: str) -> OrderRecord | None:
        """A card was lost, stolen or damaged: it is revoked; its order's hold is kept."""
        row = self.store.connection.execute(
            "SELECT id FROM orders WHERE serial = ? "
            "AND status IN ('ordered', 'shipped', 'activated')",
            (serial,),
        ).fetchone()
        if row is not None:
            # An order not yet shipped has no card to lose: `_order_event` refuses it.
            return self._order_event(int(row[0]), OrderEvent.LOSE)
        with self.store.transaction():
            device = self.store.get_device(serial)
            if device.status in ("revoked", "replaced"):
                raise BridgeError(f"device {serial} is already {device.status}")
            self.store.update_device(serial, self.now(), status="revoked")
            self._audit("device.lost", "revoked", serial=serial)
        return None

    def sweep_orders(self, day: dt.date | None = None) -> list[OrderRecord]:
        """Activate every shipped card whose three weeks are over (KB1943 note 3)."""
        today = day or self.today()

        def is_due(record: OrderRecord) -> bool:
            shipped = None if record.shipped is None else _utc(record.shipped).date()
            return auto_activation_due(record.state, shipped, today, self.config.ordering)

        due = []
        for record in self.orders():
            if not is_due(record):
                continue
            # Checked again under the write lock: another sweep (or the client) may have
            # activated or returned the card since the listing; that is no error.
            with self.store.transaction():
                fresh = self.order(record.id)
                if is_due(fresh) and self._card_status(fresh) in (None, "pending"):
                    due.append(self._order_event(record.id, OrderEvent.ACTIVATE, auto=True))
        return due

    def orders(self, user: str | None = None) -> list[OrderRecord]:
        query = "SELECT id FROM orders"
        params: tuple[str, ...] = ()
        if user is not None:
            query, params = query + " WHERE user = ?", (user,)
        ids = [int(r[0]) for r in self.store.connection.execute(query + " ORDER BY id", params)]
        return [self.order(i) for i in ids]

    def order(self, order_id: int) -> OrderRecord:
        row = self.store.connection.execute(
            "SELECT id, user, model, status, serial, ordered, shipped, auto_activate_by, "
            "hold_cents FROM orders WHERE id = ?",
            (order_id,),
        ).fetchone()
        if row is None:
            raise BridgeError(f"no order {order_id}")
        return OrderRecord(
            int(row[0]),
            row[1],
            row[2],
            OrderState(row[3]),
            row[4],
            float(row[5]),
            row[6],
            row[7],
            int(row[8]),
        )

    def _card_status(self, record: OrderRecord) -> str | None:
        """The status of the order's card (None before it has one)."""
        return None if record.serial is None else self.store.get_device(record.serial).status

    def _order_event(
        self, order_id: int, event: OrderEvent, *, auto: bool = False, **columns: float
    ) -> OrderRecord:
        now = self.now()
        with self.store.transaction() as conn:
            record = self.order(order_id)
            try:
                state = next_order_state(record.state, event)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            card = self._card_status(record)
            if state is OrderState.ACTIVE and card not in (None, "pending"):
                # e.g. revoked by an administrator: activating the order must not revive it
                raise BridgeError(f"the card {record.serial} of order {order_id} is {card}")
            values: dict[str, Any] = {"status": state.value, **columns}
            if hold_state(state) is Hold.RELEASED:
                values["hold_released"] = 1
            assignments = ", ".join(f"{name} = ?" for name in values)
            conn.execute(
                f"UPDATE orders SET {assignments} WHERE id = ?",  # noqa: S608 (names are ours)
                (*values.values(), order_id),
            )
            if record.serial is not None:
                if state is OrderState.ACTIVE:
                    self.store.update_device(record.serial, now, status="active", activated=now)
                elif state in (OrderState.RETURNED, OrderState.LOST):
                    self.store.update_device(record.serial, now, status="revoked")
            self._audit(
                f"order.{event.value}",
                state.value,
                user=record.user,
                serial=record.serial,
                order=order_id,
                hold=hold_state(state).value,
                auto=auto,
            )
        return self.order(order_id)

    # --- audit ------------------------------------------------------------------------------

    def _audit(
        self,
        event: str,
        outcome: str,
        *,
        user: str | None = None,
        serial: str | None = None,
        **detail: str | int | float | bool | None,
    ) -> None:
        self.bridge.audit_log.record(self.now(), event, outcome, user=user, serial=serial, **detail)


def _usable(device: DeviceRecord, now: float) -> bool:
    return device.status == "active" and (device.valid_until is None or device.valid_until > now)


def _held(record: DeviceRecord, now: float) -> HeldDevice:
    return HeldDevice(
        record.serial, record.model, active=_usable(record, now), temporary=record.temporary
    )


def _identification(record: UserRecord) -> sh.Identification:
    ident = record.identification
    try:
        born = dt.date.fromisoformat(ident.date_of_birth) if ident.date_of_birth else None
    except ValueError:
        born = None  # a malformed date never matches anything
    is_ssn = (ident.id_type or "").strip().casefold() == "ssn"
    return sh.Identification(
        date_of_birth=born,
        citizenship=ident.citizenship,
        residence=ident.residence,
        id_type=None if is_ssn else ident.id_type,
        id_number=None if is_ssn else ident.id_number,
        ssn=ident.id_number if is_ssn else None,
    )


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _discard(image_path: Path | None) -> None:
    """Remove an image this unit of work wrote before it failed (the store rolled back)."""
    if image_path is not None:
        with contextlib.suppress(OSError):
            Path(image_path).unlink()
