"""`slsbridge optout set|show|trade`: opting out of and back into Secure Login (KB2545).

`set` exits 1 when the user is not the account's primary user (the answer names that user).
`trade` exits 0 when the account may trade on the venue, 1 when the opt-out forbids it.
"""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import with_bridge
from host_bridge.commands._policy import add_json, emit, policies, subcommands
from host_bridge.policies.optout import RESTRICTED_VENUES, parse_mode
from slsio.cli import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("optout", help="Secure Login opt-out / partial / opt-in")
    sub = subcommands(parser, "optout_command")
    set_ = sub.add_parser("set", help="change the account's Secure Login mode (primary user)")
    set_.add_argument("--user", required=True, help="the user making the change")
    set_.add_argument(
        "--mode",
        required=True,
        help="full (opt out), trading (Secure Login not required for trading), none (opt in)",
    )
    add_json(set_)
    set_.set_defaults(handler=with_bridge(_set))
    show = sub.add_parser("show", help="show the account's mode and its restrictions")
    show.add_argument("--user", required=True)
    add_json(show)
    show.set_defaults(handler=with_bridge(_show))
    trade = sub.add_parser("trade", help="may the user's account trade on VENUE?")
    trade.add_argument("--user", required=True)
    trade.add_argument("--venue", required=True, help="e.g. nyse, pink, otcbb")
    add_json(trade)
    trade.set_defaults(handler=with_bridge(_trade))


def _set(bridge: Bridge, args: argparse.Namespace) -> int:
    try:
        mode = parse_mode(args.mode)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    decision = policies(bridge).set_opt_out(args.user, mode)
    data = {
        "allowed": decision.allowed,
        "changed": decision.changed,
        "mode": decision.mode.value,
        "reason": decision.reason,
    }
    emit(args, data, decision.reason if decision.allowed else f"refused: {decision.reason}")
    return 0 if decision.allowed else 1


def _show(bridge: Bridge, args: argparse.Namespace) -> int:
    rules = policies(bridge)
    mode = rules.opt_out(args.user)
    barred = sorted(v for v in RESTRICTED_VENUES if not rules.may_trade(args.user, v))
    data = {"user": args.user, "mode": mode.value, "restricted_venues": barred}
    emit(args, data, f"{args.user}: {mode.value}; restricted venues: {', '.join(barred) or '-'}")
    return 0


def _trade(bridge: Bridge, args: argparse.Namespace) -> int:
    venue = args.venue.strip()
    if not venue or len(venue) > 32:
        raise UsageError("a venue is 1 to 32 characters")
    allowed = policies(bridge).may_trade(args.user, venue)
    emit(
        args,
        {"user": args.user, "venue": venue, "allowed": allowed},
        f"{venue}: {'allowed' if allowed else 'not allowed after the Secure Login opt-out'}",
    )
    return 0 if allowed else 1
