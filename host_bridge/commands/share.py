"""`slsbridge share request|approve|refuse|cancel|list`: sharing a physical device (KB2481).

`challenge` shows the security element of KB2481 step 7 (a challenge of the device to share,
issued for this requester); `request` carries the owner's password and the device's response to
it (never on the command line: stdin, a file, a variable or a prompt). `request` exits 0 when the
sharing is approved or waits for compliance, 1 when refused (without the owner's consent, or with
the seed's message, e.g. "Less secure device"), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import read_secret, with_bridge
from host_bridge.commands._policy import add_json, emit, parse_id, policies, subcommands
from host_bridge.policies.sharing import ShareState
from host_bridge.repos.shares import ShareRecord
from slsio.secret_args import add_secret_option, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("share", help="share a physical device between users")
    sub = subcommands(parser, "share_command")
    challenge = sub.add_parser("challenge", help="the challenge the device owner answers")
    challenge.add_argument("--user", required=True, help="the requesting user")
    challenge.add_argument("--device", required=True, metavar="SERIAL", help="the device to share")
    add_json(challenge)
    challenge.set_defaults(handler=with_bridge(_challenge))
    request = sub.add_parser("request", help="USER asks to use the device SERIAL of its owner")
    request.add_argument("--user", required=True, help="the requesting user")
    request.add_argument("--device", required=True, metavar="SERIAL", help="the device to share")
    request.add_argument("--challenge-id", help="from `share challenge` (without: refused)")
    add_secret_option(
        request, "--owner-password", help="the device owner's password"
    )
    add_secret_option(
        request, "--response", help="the device's response to the challenge"
    )
    add_json(request)
    request.set_defaults(handler=with_bridge(_request))
    approve = sub.add_parser("approve", help="compliance approves a pending request")
    approve.add_argument("id")
    add_json(approve)
    approve.set_defaults(handler=with_bridge(_approve))
    refuse = sub.add_parser("refuse", help="compliance refuses a pending request")
    refuse.add_argument("id")
    refuse.add_argument("--reason", default="refused by compliance")
    add_json(refuse)
    refuse.set_defaults(handler=with_bridge(_refuse))
    cancel = sub.add_parser("cancel", help="cancel a sharing; the redundant devices come back")
    cancel.add_argument("id")
    add_json(cancel)
    cancel.set_defaults(handler=with_bridge(_cancel))
    add_user = sub.add_parser("add-user", help='IB Key: "Add user" in IBKR Mobile')
    add_user.add_argument("--device", required=True, metavar="SERIAL", help="the IB Key")
    add_user.add_argument("--user", required=True, help="the user to enable on the app")
    add_user.add_argument(
        "--password-stdin", action="store_true", help="read that user's password from stdin"
    )
    add_json(add_user)
    add_user.set_defaults(handler=with_bridge(_add_user))
    remove_user = sub.add_parser("remove-user", help="IB Key: remove an added user")
    remove_user.add_argument("--device", required=True, metavar="SERIAL")
    remove_user.add_argument("--user", required=True)
    add_json(remove_user)
    remove_user.set_defaults(handler=with_bridge(_remove_user))
    listing = sub.add_parser("list", help="list sharing requests")
    listing.add_argument("--user", help="only requests where USER is requester or owner")
    add_json(listing)
    listing.set_defaults(handler=with_bridge(_list))


def _line(record: ShareRecord) -> str:
    reason = f" ({record.reason})" if record.reason else ""
    return (
        f"request {record.id}: {record.requester} -> {record.serial} of {record.owner}: "
        f"{record.state.value}{reason}"
    )


def _challenge(bridge: Bridge, args: argparse.Namespace) -> int:
    issued = policies(bridge).share_challenge(args.user, args.device)
    emit(args, issued.to_json(), f"id: {issued.id}\nchallenge: {issued.text}")
    return 0


def _request(bridge: Bridge, args: argparse.Namespace) -> int:
    password = _consent(args, "--owner-password", "Device owner's password: ")
    response = None
    if args.challenge_id is not None:
        response = _consent(args, "--response", "Response: ")
    record, decision = policies(bridge).request_share(
        args.user, args.device, password, args.challenge_id, response
    )
    data = {**record.to_json(), "detail": decision.detail, "redundant": list(decision.redundant)}
    if decision.state is ShareState.REFUSED:
        emit(args, data, f"refused: {decision.reason} ({decision.detail})")
        return 1
    emit(args, data, _line(record))
    return 0


def _consent(args: argparse.Namespace, flag: str, prompt: str) -> str | None:
    """A part of the owner's consent: given, prompted for on a terminal, else missing (None:
    the request is refused and audited, as with a wrong one)."""
    value = secret_option(args, flag)
    if value is None and sys.stdin.isatty():
        value = read_secret(False, prompt)
    return value


def _approve(bridge: Bridge, args: argparse.Namespace) -> int:
    record, decision = policies(bridge).approve_share(parse_id(args.id))
    emit(args, {**record.to_json(), "detail": decision.detail}, _line(record))
    return 1 if record.state is ShareState.REFUSED else 0


def _refuse(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).refuse_share(parse_id(args.id), args.reason)
    emit(args, record.to_json(), _line(record))
    return 0


def _cancel(bridge: Bridge, args: argparse.Namespace) -> int:
    record = policies(bridge).cancel_share(parse_id(args.id))
    emit(args, record.to_json(), _line(record))
    return 0


def _add_user(bridge: Bridge, args: argparse.Namespace) -> int:
    password = read_secret(args.password_stdin)
    policies(bridge).ibkey_add_user(args.device, args.user, password)
    emit(
        args,
        {"device": args.device, "user": args.user, "added": True},
        f"user {args.user} enabled on IB Key {args.device}",
    )
    return 0


def _remove_user(bridge: Bridge, args: argparse.Namespace) -> int:
    policies(bridge).ibkey_remove_user(args.device, args.user)
    emit(
        args,
        {"device": args.device, "user": args.user, "removed": True},
        f"user {args.user} removed from IB Key {args.device}",
    )
    return 0


def _list(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.user is not None:
        bridge.user(args.user)  # an unknown user is bad input (exit 2), not an empty list
    records = policies(bridge).shares(args.user)
    emit(
        args,
        {"requests": [r.to_json() for r in records]},
        "\n".join(_line(r) for r in records) or "(no sharing requests)",
    )
    return 0
