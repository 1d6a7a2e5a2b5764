"""End to end: a user with a DSC+ and an SCC logs in with each; a replay is refused."""

from __future__ import annotations

from pathlib import Path

from firmware_model.scc import scc_response
from host_bridge.bridge import Bridge
from tests.bridge_helpers import FakeClock, dscplus_response, open_bridge, read_image


def test_dscplus_and_scc_login_and_replay(tmp_path: Path) -> None:
    clock = FakeClock()
    bridge: Bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "s3cret pass")
    dsc = bridge.provision("alice", "dscplus", pin="2468", image_path=tmp_path / "dsc.img")
    scc = bridge.provision("alice", "scc", image_path=tmp_path / "scc.img")
    assert (tmp_path / "dsc.img").stat().st_mode & 0o777 == 0o600
    assert {d.serial for d in bridge.devices("alice")} == {dsc.serial, scc.serial}
    assert bridge.check_password("alice", "s3cret pass")

    challenge = bridge.issue_challenge(dsc.serial)
    assert len(challenge.text) == 6 and challenge.text.isdigit()
    response = dscplus_response(read_image(tmp_path / "dsc.img"), "2468", challenge.text,
                                clock.now)
    assert len(response) == 8 and response.isdigit()
    assert bridge.verify(dsc.serial, challenge.id, response).accepted
    replay = bridge.verify(dsc.serial, challenge.id, response)
    assert not replay.accepted and replay.reason == "challenge already used"

    challenge = bridge.issue_challenge(scc.serial)
    first, second = map(int, challenge.text.split())
    card = read_image(tmp_path / "scc.img")
    answer = scc_response(card.key, first, second)
    assert bridge.verify(scc.serial, challenge.id, answer).accepted
    assert not bridge.verify(scc.serial, challenge.id, answer).accepted


def test_wrong_soft_pin_is_refused_by_the_host(tmp_path: Path) -> None:
    clock = FakeClock()
    bridge = open_bridge(tmp_path / "home", clock)
    bridge.add_user("alice", "pw")
    dsc = bridge.provision("alice", "dscplus", pin="2468", image_path=tmp_path / "dsc.img")
    challenge = bridge.issue_challenge(dsc.serial)
    response = dscplus_response(read_image(tmp_path / "dsc.img"), "1357", challenge.text,
                                clock.now)
    verdict = bridge.verify(dsc.serial, challenge.id, response)
    assert not verdict.accepted and verdict.reason == "wrong response"
