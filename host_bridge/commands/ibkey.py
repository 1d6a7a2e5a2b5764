"""`slsbridge ibkey activate|recover|submit`: the IB Key app's calls to the broker (KB2260, KB2748).

* `activate --user U --serial S --token… --pin…`: activation starts with the username and
  password in the app (the password: `--password-stdin` first line, else a prompt), then the SMS
  activation token and the PIN chosen in the app.
* `recover --platform android --user U --serial S`: credentials, "Initialize Recovery": the
  recovery token goes to the SMS outbox (`slsbridge sms outbox` shows it).
* `submit --serial S --token…`: Android's Submit with the token from the SMS.
* `recover --platform ios --serial S`: "Yes", fingerprint / Face ID / PIN, Done — no SMS: the
  command shows a challenge (stderr) and reads the restored app's response (one stdin line).

Exit 0 done, 1 refused (wrong password or token, resend limit, wrong response), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from host_bridge.bridge import Bridge
from host_bridge.commands._common import add_json, read_line, read_secret, with_bridge
from host_bridge.commands._policy import subcommands
from host_bridge.services.ibkey import Platform
from slsio.cli import UsageError, emit
from slsio.secret_args import add_secret_option, required_secret


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ibkey", help="IB Key app: activate, recover (KB2748)")
    sub = subcommands(parser, "ibkey_command")
    activate = sub.add_parser("activate", help="activate with username, password, SMS token, PIN")
    _credentials(activate)
    activate.add_argument("--serial", required=True)
    add_secret_option(activate, "--token", required=True,
                      help="the activation token sent by SMS")
    add_secret_option(activate, "--pin", required=True,
                      help="the PIN chosen in the app (4-6 characters)")
    add_json(activate)
    activate.set_defaults(handler=with_bridge(_activate))
    recover = sub.add_parser("recover", help="recover after a reinstall or an OS update")
    recover.add_argument("--platform", required=True, choices=[p.value for p in Platform])
    recover.add_argument("--serial", required=True)
    recover.add_argument("--user", help="android: the user name (credentials)")
    recover.add_argument("--password-stdin", action="store_true",
                         help="android: read the password as the first line of stdin")
    add_json(recover)
    recover.set_defaults(handler=with_bridge(_recover))
    submit = sub.add_parser("submit", help="android: Submit the recovery token from the SMS")
    submit.add_argument("--serial", required=True)
    add_secret_option(submit, "--token", required=True,
                      help="the recovery token sent by SMS")
    add_json(submit)
    submit.set_defaults(handler=with_bridge(_submit))


def _credentials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password as the first line of stdin")


def _activate(bridge: Bridge, args: argparse.Namespace) -> int:
    password = read_secret(args.password_stdin)
    token = required_secret(args, "--token")  # stdin order: password, token, PIN
    pin = required_secret(args, "--pin")
    done = bridge.ibkey.activate(args.user, password, args.serial, token, pin)
    if not done:
        emit(args, {"serial": args.serial, "activated": False},
             f"{args.serial} not activated (wrong or expired token)")
        return 1
    emit(args, {"serial": args.serial, "activated": True}, f"{args.serial} IB Key activated")
    return 0


def _recover(bridge: Bridge, args: argparse.Namespace) -> int:
    platform = Platform(args.platform)
    if platform is Platform.IOS:
        if args.user is not None or args.password_stdin:
            raise UsageError("iOS recovery asks no credentials (no --user, no password)")
        return _recover_ios(bridge, args)
    if args.user is None:
        raise UsageError("android recovery needs --user (the credentials)")
    password = read_secret(args.password_stdin)
    bridge.ibkey.initialize_recovery(args.user, password, args.serial)
    emit(args, {"serial": args.serial, "platform": platform.value, "sms_sent": True},
         f"{args.serial}: recovery token sent by SMS; enter it with `slsbridge ibkey submit`")
    return 0


def _recover_ios(bridge: Bridge, args: argparse.Namespace) -> int:
    challenge = bridge.ibkey.ios_recovery_challenge(args.serial)
    sys.stderr.write(f"Challenge: {challenge.text}\nResponse: ")
    sys.stderr.flush()
    verdict = bridge.ibkey.confirm_ios_recovery(args.serial, challenge.id, read_line())
    emit(args, {"serial": args.serial, "platform": Platform.IOS.value,
                "recovered": verdict.accepted, "reason": verdict.reason},
         f"{args.serial} IB Key recovered" if verdict.accepted
         else f"{args.serial} not recovered: {verdict.reason}")
    return 0 if verdict.accepted else 1


def _submit(bridge: Bridge, args: argparse.Namespace) -> int:
    token = required_secret(args, "--token")
    if not bridge.ibkey.submit_recovery(args.serial, token):
        emit(args, {"serial": args.serial, "recovered": False},
             f"{args.serial} not recovered (wrong or expired recovery token)")
        return 1
    emit(args, {"serial": args.serial, "recovered": True}, f"{args.serial} IB Key recovered")
    return 0
