"""Device sharing (KB2481) and IB Key's "Add user".

A request carries the owner's consent, as the seed's procedure has it: step 6 "Enter the
credentials of the device owner", step 7 "Operate the SLS Device and, using the security element
provided by the system, generate a response code" — the owner's password (guess-limited like
every password) and the device's answer to a challenge issued for this request
(`share_challenge`; `host_bridge.services.consent`). Either wrong or missing: `Refused`, audited,
no request row; a wrong answer counts against the device like any failed code.

Devices made redundant by sharing become `replaced` with `replaced_by` = the shared serial, so
cancelling the sharing knows which to reactivate.
"""

from __future__ import annotations

from collections.abc import Sequence

from host_bridge.audit import MAX_DETAIL_TEXT
from host_bridge.db.engine import Tx
from host_bridge.domain import WRONG_LOGIN, DeviceStatus, Role
from host_bridge.errors import BridgeError, Refused
from host_bridge.policies import sharing as sh
from host_bridge.repos import devices, shares, users
from host_bridge.repos.shares import ShareRecord
from host_bridge.services.challenges import ChallengeService
from host_bridge.services.consent import ConsentService, Purpose
from host_bridge.services.context import Context, unit_of_work
from host_bridge.services.holdings import participant
from host_bridge.services.policy_config import PolicyConfig
from host_bridge.services.users import UserService
from host_bridge.verification import Challenge

NO_RESPONSE = "no response to a challenge issued for this request (slsbridge share challenge)"


class SharingService:
    def __init__(
        self, ctx: Context, config: PolicyConfig, user_service: UserService,
        challenges: ChallengeService,
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.users = user_service
        self.consent = ConsentService(ctx, challenges)

    def share_challenge(self, requester: str, serial: str) -> Challenge:
        """The security element for KB2481 step 7: a challenge of device `serial`, issued for
        `requester`'s sharing request."""
        with self.ctx.db.read() as tx:
            users.get(tx, requester)
            _owner(tx, serial)
        return self.consent.issue(serial, Purpose.SHARE, requester)

    def request_share(
        self, requester: str, serial: str, owner_password: str | None,
        challenge_id: str | None, response: str | None,
    ) -> tuple[ShareRecord, sh.ShareDecision]:
        """`requester` asks to use device `serial` (KB2481), with the owner's password and the
        device's `response` to challenge `challenge_id` (from `share_challenge`). Applied at
        once when approved. Raises `Refused` (audited, nothing recorded) when the consent is
        wrong or missing (None)."""
        with self.ctx.db.read() as tx:
            users.get(tx, requester)
            owner = _owner(tx, serial)
        reason = None
        if owner_password is None or not self.users.check_password(owner, owner_password):
            reason = "wrong owner credentials" if owner_password else "no owner credentials"
        if challenge_id is None or response is None:
            reason = reason or NO_RESPONSE
        else:
            verdict = self.consent.prove(serial, challenge_id, response, Purpose.SHARE, requester)
            reason = reason or (None if verdict.accepted else verdict.reason)
        if reason is not None:
            self.ctx.audit("share.request", "refused", user=requester, serial=serial,
                           reason="no owner consent", detail=reason)
            raise Refused(f"no consent of the device owner: {reason}")
        return self._request_share(requester, serial)

    @unit_of_work
    def _request_share(self, requester: str, serial: str) -> tuple[ShareRecord, sh.ShareDecision]:
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            users.get(tx, requester)
            devices.get(tx, serial, lock=True)
            holders = devices.users_of(tx, serial)
            owners = [_owner(tx, serial)]
            if requester in (name for name, _ in holders):
                raise BridgeError(f"user {requester} already uses device {serial}")
            if shares.pending_exists(tx, requester, serial):
                raise BridgeError(f"a request of {requester} for {serial} is already pending")
            co_users = [name for name, role in holders if role is not Role.OWNER]
            decision = sh.decide_share(
                self._request(tx, serial, owners[0], requester, co_users, now),
                self.config.needs_compliance,
            )
            decided = None if decision.state is sh.ShareState.PENDING else now
            request_id = shares.add(
                tx, requester, owners[0], serial, decision.state, decision.reason, now, decided
            )
            if decision.state is sh.ShareState.APPROVED:
                self._apply(tx, serial, requester, decision.redundant, now)
            self.ctx.audit(
                "share.request", decision.state.value, user=requester, serial=serial,
                request=request_id, reason=decision.reason, detail=decision.detail[:200],
            )
            return shares.get(tx, request_id), decision

    @unit_of_work
    def approve_share(self, request_id: int) -> tuple[ShareRecord, sh.ShareDecision]:
        """Compliance approves a pending request; the prerequisites are checked again first."""
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            record = shares.get(tx, request_id, lock=True)
            if record.state is not sh.ShareState.PENDING:
                raise BridgeError(f"cannot approve a sharing request that is {record.state.value}")
            holders = devices.users_of(tx, record.serial)
            co_users = [
                n for n, role in holders if role is not Role.OWNER and n != record.requester
            ]
            decision = sh.decide_share(
                self._request(tx, record.serial, record.owner, record.requester, co_users, now),
                lambda _request: False,
            )
            event = (
                sh.ShareEvent.REFUSE
                if decision.state is sh.ShareState.REFUSED
                else sh.ShareEvent.APPROVE
            )
            state = sh.next_state(record.state, event)
            shares.decide(tx, request_id, state, decision.reason, now)
            if state is sh.ShareState.APPROVED:
                self._apply(tx, record.serial, record.requester, decision.redundant, now)
            self.ctx.audit(
                "share.approve", state.value, user=record.requester, serial=record.serial,
                request=request_id, reason=decision.reason,
            )
            return shares.get(tx, request_id), decision

    def refuse_share(self, request_id: int, reason: str = "refused by compliance") -> ShareRecord:
        """Compliance refuses a pending request."""
        return self._end(request_id, sh.ShareEvent.REFUSE, reason)

    def cancel_share(self, request_id: int) -> ShareRecord:
        """Cancel a pending or approved sharing; the requester's redundant devices come back."""
        return self._end(request_id, sh.ShareEvent.CANCEL, "cancelled")

    def ibkey_add_user(self, serial: str, user: str, password: str) -> None:
        """IBKR Mobile's "Add user" (KB2481's note): enable one more user on an IB Key app once
        that user's own credentials are checked. Not subject to KB2481's prerequisites.

        Raises `Refused` for wrong credentials, `BridgeError` for anything but an active IB Key.
        """
        if not self.users.check_password(user, password):
            raise Refused(WRONG_LOGIN)
        self._add_user(serial, user)

    @unit_of_work
    def _add_user(self, serial: str, user: str) -> None:
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            device = devices.get(tx, serial, lock=True)
            if device.model != "ibkey":
                raise BridgeError(
                    f"Add user is for IB Key; share the {device.model} {serial} with a "
                    "sharing request"
                )
            if not device.usable(now):
                raise BridgeError(f"device {serial} is {device.status}")
            if user in (name for name, _ in devices.users_of(tx, serial)):
                raise BridgeError(f"user {user} already uses device {serial}")
            devices.link(tx, serial, user, now, Role.SHARED)
            self.ctx.audit("ibkey.add_user", "ok", user=user, serial=serial)

    @unit_of_work
    def ibkey_remove_user(self, serial: str, user: str) -> None:
        """Remove a user added with "Add user" (never the app's owner)."""
        with self.ctx.db.transaction() as tx:
            if (user, Role.SHARED) not in devices.users_of(tx, serial):
                raise BridgeError(f"user {user} was not added to device {serial}")
            if devices.get(tx, serial).model != "ibkey":
                raise BridgeError(f"device {serial} is not an IB Key")
            devices.unlink(tx, serial, user)
            self.ctx.audit("ibkey.remove_user", "ok", user=user, serial=serial)

    def shares(self, user: str | None = None) -> list[ShareRecord]:
        with self.ctx.db.read() as tx:
            return [shares.get(tx, i) for i in shares.ids(tx, user)]

    @unit_of_work
    def _end(self, request_id: int, event: sh.ShareEvent, reason: str) -> ShareRecord:
        if len(reason) > MAX_DETAIL_TEXT:
            raise BridgeError(f"a reason is at most {MAX_DETAIL_TEXT} characters")
        now = self.ctx.clock()
        with self.ctx.db.transaction() as tx:
            record = shares.get(tx, request_id, lock=True)
            try:
                state = sh.next_state(record.state, event)
            except ValueError as exc:
                raise BridgeError(str(exc)) from None
            shares.decide(tx, request_id, state, reason, now)
            reactivated: list[str] = []
            if record.state is sh.ShareState.APPROVED:
                devices.unlink(tx, record.serial, record.requester)
                for device in devices.of_user(tx, record.requester, (DeviceStatus.REPLACED,)):
                    if device.replaced_by == record.serial:
                        devices.update_device(
                            tx, device.serial, now, status=DeviceStatus.ACTIVE, replaced_by=None
                        )
                        reactivated.append(device.serial)
            self.ctx.audit(
                f"share.{event.value}", state.value, user=record.requester, serial=record.serial,
                request=request_id, reactivated=",".join(reactivated)[:MAX_DETAIL_TEXT],
            )
            return shares.get(tx, request_id)

    def _apply(
        self, tx: Tx, serial: str, requester: str, redundant: Sequence[str], now: float
    ) -> None:
        devices.link(tx, serial, requester, now, Role.SHARED)
        for other in redundant:
            # Only a device the requester alone uses becomes redundant: deactivating a device
            # someone else also uses would lock that user out.
            if devices.users_of(tx, other) == [(requester, Role.OWNER)]:
                devices.update_device(
                    tx, other, now, status=DeviceStatus.REPLACED, replaced_by=serial
                )

    def _request(
        self, tx: Tx, serial: str, owner: str, requester: str, co_users: Sequence[str],
        now: float,
    ) -> sh.ShareRequest:
        try:
            return sh.ShareRequest(
                serial,
                participant(tx, owner, now),
                participant(tx, requester, now),
                tuple(participant(tx, name, now) for name in co_users),
            )
        except ValueError as exc:
            raise BridgeError(str(exc)) from None


def _owner(tx: Tx, serial: str) -> str:
    """The owner of device `serial` (`BridgeError` for an unknown device or one without)."""
    devices.get(tx, serial)
    owner = devices.owner_of(tx, serial)
    if owner is None:
        raise BridgeError(f"device {serial} has no owner")
    return owner
