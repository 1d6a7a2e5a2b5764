"""`slsbridge push`: IB Key push on the host — send one, read its status, give the app's answer.

    slsbridge push send --serial IK…            # prints the push id and the challenge
    slsbridge push status --push-id ID          # pending / approved / denied / expired / failed
    slsbridge push approve --push-id ID --response-stdin    # exit 0 approved, 1 refused
    slsbridge push deny --push-id ID
    slsbridge push outbox --serial IK…          # the latest notification (the phone's view)
    slsbridge push deliver --serial IK… --via DEV (--pin-stdin… | --deny)   # relay to the app
"""

from __future__ import annotations

import argparse
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, print_json, secret_or_prompt, with_bridge
from host_bridge.commands.sms import show_latest
from host_bridge.domain import PushRecord
from slsio.cli import UsageError
from slsio.secret_args import add_secret_option, secret_given, secret_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("push", help="IB Key push: send, status, the app's answer")
    sub = parser.add_subparsers(dest="push_command", metavar="ACTION", required=True,
                                parser_class=type(parser))
    send = sub.add_parser("send", help="send a push to an IB Key")
    send.add_argument("--serial", required=True)
    add_json(send)
    send.set_defaults(handler=with_bridge(_send))
    for name, handler, text in (
        ("status", _status, "a push's status"),
        ("approve", _approve, "the app's approval: the response to the push's challenge"),
        ("deny", _deny, "the app's refusal"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("--push-id", required=True)
        if name == "approve":
            add_secret_option(
                action, "--response", plain=False, help="the app's response (default: prompt)"
            )
        add_json(action)
        action.set_defaults(handler=with_bridge(handler))
    outbox = sub.add_parser("outbox", help="the latest push notification sent to a device")
    outbox.add_argument("--serial", required=True)
    add_json(outbox)
    outbox.set_defaults(handler=with_bridge(_outbox))
    relay = sub.add_parser("deliver", help="relay the newest notification to the emulated app "
                           "on a serial line and its answer back (approve with the PIN, or deny)")
    relay.add_argument("--serial", required=True)
    relay.add_argument("--via", metavar="DEV", required=True, help="the app's serial line")
    add_secret_option(relay, "--pin", metavar="PIN", help="the PIN to approve with")
    relay.add_argument("--deny", action="store_true", help="deny the push in the app")
    relay.add_argument("--baud", type=int, help="default: the serial client's")
    add_json(relay)
    relay.set_defaults(handler=with_bridge(_deliver))


def _show(push: PushRecord, args: argparse.Namespace, **extra: object) -> None:
    if args.json:
        print_json({**push.to_json(), **extra})
    else:
        print(" ".join([push.id, push.status.value, *(str(value) for value in extra.values())]))


def _send(bridge: Bridge, args: argparse.Namespace) -> int:
    sent = bridge.push.send(args.serial)
    _show(sent.push, args, challenge=sent.challenge.text)
    return 0


def _status(bridge: Bridge, args: argparse.Namespace) -> int:
    _show(bridge.push.status(args.push_id), args)
    return 0


def _approve(bridge: Bridge, args: argparse.Namespace) -> int:
    response = secret_or_prompt(args, "--response", "Response: ")
    answer = bridge.push.approve(args.push_id, response)
    _show(answer.push, args, reason=answer.verdict.reason)
    return 0 if answer.verdict.accepted else 1


def _deny(bridge: Bridge, args: argparse.Namespace) -> int:
    _show(bridge.push.deny(args.push_id), args)
    return 0


def _deliver(bridge: Bridge, args: argparse.Namespace) -> int:
    if args.deny == secret_given(args, "--pin"):
        raise UsageError("give the PIN to approve, or --deny")
    if args.baud is not None and args.baud <= 0:
        raise UsageError("--baud must be a positive number of bits per second")
    pin = None if args.deny else secret_option(args, "--pin")
    from host_bridge.push_delivery import deliver  # the serial stack, only when used

    answer = deliver(bridge.push, args.serial, args.via, pin, baud=args.baud)
    _show(answer.push, args, reason=answer.verdict.reason)
    return 0 if answer.verdict.accepted else 1


def _outbox(bridge: Bridge, args: argparse.Namespace) -> int:
    return show_latest(bridge, bridge.ctx.push_outbox, args, lambda m: {
        "at": m.at, "user": m.user, "push_id": m.challenge_id, "challenge": m.code,
    }, lambda m: f"push {m.challenge_id} {m.user} {m.code}")
