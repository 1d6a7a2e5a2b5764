"""What a PSKC (RFC 6030) key says about a device: the algorithm URIs, and which model a key is.

One place for the URIs and the mapping rule, read by the importer (`pskc_io`) and the exporter
(`pskc_write`). Written (export):

    OCRA (dscplus[_classic], gold,         urn:ietf:params:xml:ns:keyprov:pskc:ocra
          platinum, ibkey)
                                           + <Suite> (the OCRA suite), <ChallengeFormat>,
                                             <ResponseFormat Encoding="DECIMAL">, <Counter> (C)
    legacy DSC, OATH TOTP token            urn:ietf:params:xml:ns:keyprov:pskc:totp
                                           + <ResponseFormat>, <TimeInterval>, <Suite> (hash,
                                             only when not SHA1)
    OATH HOTP token (imported)             urn:ietf:params:xml:ns:keyprov:pskc:hotp
                                           + <ResponseFormat>, <Counter>, <Suite> as TOTP
    SCC, Online SCC                        urn:slsemu:params:algorithm:scc-v1 (ours)
                                           + <ChallengeFormat>, <ResponseFormat ALPHANUMERIC 6>
    PIN (soft PIN, IB Key PIN)             urn:ietf:params:xml:ns:keyprov:pskc:pin, its own
                                           KeyPackage; the device key's <PINPolicy PINKeyId>

`…pskc:ocra` with the suite in `<Suite>` is what LinOTP and NagraID write and what privacyIDEA
and LinOTP read (privacyIDEA takes the token type from the URI's last `:` part); the older
`urn:ietf:params:xml:ns:keyprov:pskc#<suite>` of the expired draft-hoyer profile is read too.

Which model a key becomes (`model_for`): `--model` if given; else the `<Model>` of a file we
wrote (`Manufacturer` = `MANUFACTURER`); else by algorithm — an OCRA suite with a counter (C) is
an IB Key, any other OCRA suite a DSC+ (soft PIN if the suite has P, device PIN if not), HOTP and
TOTP a `dsc` (a token that shows a code without a challenge) keeping its own parameters, our SCC
URI an SCC.
"""

from __future__ import annotations

import enum
from typing import Final

from firmware_model.hotp import OtpSpec
from firmware_model.ocra import OcraSuite


class Algorithm(enum.StrEnum):
    """The `Algorithm` URIs of the keys we write and read (a member equals its URI text)."""

    OCRA = "urn:ietf:params:xml:ns:keyprov:pskc:ocra"
    TOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
    HOTP = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
    PIN = "urn:ietf:params:xml:ns:keyprov:pskc:pin"
    SCC = "urn:slsemu:params:algorithm:scc-v1"


OCRA_DRAFT_PREFIX: Final = "urn:ietf:params:xml:ns:keyprov:pskc#"
"""The expired draft's form, `…pskc#<suite>`: read, never written."""
MANUFACTURER: Final = "oath.slsemu"
"""RFC 6030 4.3.1: a manufacturer is prefixed `oath.` or `iana.`. Not a registered name: the
devices are emulated; the prefix is there so importers that check it accept the file."""

OCRA_MODELS: Final = ("dscplus", "dscplus_classic", "gold", "platinum", "ibkey")
IMPORT_MODELS: Final = (*OCRA_MODELS, "dsc", "scc")
OTP_HASHES: Final = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
"""`<Suite>` of a HOTP/TOTP key: the hash (privacyIDEA's reading; `HMAC-` prefix allowed)."""
SCC_CODE_CHARS: Final = 6
"""An SCC answer: two 3-character cells side by side."""


def algorithm_of(model: str, otp: OtpSpec | None = None) -> Algorithm:
    """The algorithm URI a key of `model` (showing `otp`) is exported with. `ValueError` for one
    we cannot export."""
    if model in OCRA_MODELS:
        return Algorithm.OCRA
    if model == "dsc":
        return Algorithm.HOTP if otp is not None and otp.event else Algorithm.TOTP
    if model in ("scc", "online_scc"):
        return Algorithm.SCC
    raise ValueError(f"cannot export a device of model {model!r}")


def model_for(algorithm: str, suite: str | None, hint: str | None) -> str:
    """The model a key of `algorithm` (and OCRA `suite`) becomes; `hint` is `--model` or the
    model a file of ours names. `ValueError` (one line, no secret) when it cannot be one."""
    if algorithm == Algorithm.OCRA:
        assert suite is not None
        default = "ibkey" if OcraSuite.parse(suite).counter else "dscplus"
        model = hint or default
        if model not in OCRA_MODELS:
            raise ValueError(f"an OCRA key cannot be a {model}")
        return model
    if algorithm in (Algorithm.TOTP, Algorithm.HOTP):
        return _only(hint, "dsc", "an OATH OTP")
    if algorithm == Algorithm.SCC:
        if hint == "online_scc":
            raise ValueError("an Online SCC is temporary: issue a new one instead of importing")
        return _only(hint, "scc", "an SCC")
    raise ValueError(f"unsupported algorithm {algorithm or '(none)'!r}")


def _only(hint: str | None, model: str, what: str) -> str:
    if hint not in (None, model):
        raise ValueError(f"{what} key cannot be a {hint}")
    return model
