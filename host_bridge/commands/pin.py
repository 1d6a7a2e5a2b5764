"""`slsbridge pin challenge|change`: the portal's DSC+ Soft PIN change (KB1018).

`challenge` shows a challenge issued for the change; the card answers it under its *old* PIN.
`change` takes that response and the new PIN (never on the command line: stdin — one line each,
response first —, a file, a variable or a prompt). Exit 0 changed, 1 refused (wrong response:
counted against the card like any failed code), 2 bad input (nothing changes).
"""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import secret_or_prompt, with_bridge
from host_bridge.commands._policy import add_json, emit, policies, subcommands
from slsio.secret_args import add_secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pin", help="change a DSC+ Soft PIN (as in the portal)")
    sub = subcommands(parser, "pin_command")
    challenge = sub.add_parser("challenge", help="the challenge the card answers with its old PIN")
    challenge.add_argument("--serial", required=True)
    add_json(challenge)
    challenge.set_defaults(handler=with_bridge(_challenge))
    change = sub.add_parser("change", help="set a new Soft PIN")
    change.add_argument("--serial", required=True)
    change.add_argument("--challenge-id", required=True, help="from `pin challenge`")
    add_secret_option(
        change, "--response", plain=False, help="the card's response under the old PIN"
    )
    add_secret_option(change, "--new-pin", plain=False, help="the new four-digit Soft PIN")
    add_json(change)
    change.set_defaults(handler=with_bridge(_change))


def _challenge(bridge: Bridge, args: argparse.Namespace) -> int:
    issued = policies(bridge).pin_challenge(args.serial)
    emit(args, issued.to_json(), f"id: {issued.id}\nchallenge: {issued.text}")
    return 0


def _change(bridge: Bridge, args: argparse.Namespace) -> int:
    response = secret_or_prompt(args, "--response", "Response (old PIN): ")
    new_pin = secret_or_prompt(args, "--new-pin", "New Soft PIN: ")
    verdict = policies(bridge).change_pin(args.serial, args.challenge_id, response, new_pin)
    data = {"serial": args.serial, "changed": verdict.accepted, "reason": verdict.reason}
    if not verdict.accepted:
        emit(args, data, f"refused: {verdict.reason}")
        return 1
    emit(args, data, f"Soft PIN of {args.serial} changed")
    return 0
