"""A session in the terminal app, recorded and replayed: the login screen's random challenge
becomes `${CHALLENGE}`, the response a capture, and the recording replays on every transport."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from emulator.commands._record_tui import login_values
from emulator.pytest_plugin.bridge import TEST_PASSWORD
from emulator.pytest_plugin.devices import SlsDevice
from emulator.pytest_plugin.pilot import answer, log_in, settle
from emulator.pytest_plugin.tui import make_app
from emulator.recording import Transcript
from emulator.recording_session import RecordingSession
from tests.test_record import assert_replays

PIN = "1234"


async def test_a_recorded_tui_login_replays_green(sls_bridge: Any, tmp_path: Path) -> None:
    sls_bridge.add_user("alice")
    card = sls_bridge.provision("alice", "dscplus", pin=PIN)
    snapshot = tmp_path / "login.img"
    shutil.copyfile(card.image_path, snapshot)
    transcript = Transcript()
    session = RecordingSession(card.image_path, transcript, clock=1_700_000_000)
    app = make_app(SlsDevice(session), bridge=sls_bridge, user="alice")
    session.known_values = lambda: login_values(app)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await log_in(pilot, TEST_PASSWORD, card.serial)
            challenge = app.query_one("LoginPane").challenge.text  # type: ignore[attr-defined]
            app.focus_device()
            await pilot.press("p", *PIN, "enter")
            await settle(pilot, lambda: app.read_display() == "CHALLNG>", "the challenge prompt")
            await pilot.press(*challenge, "enter")
            await settle(pilot, lambda: len(app.read_display()) == 8, "the response")
            assert "accepted" in await answer(pilot, app.read_display())
    finally:
        session.flush()
        session.close()
    text = transcript.document("a TUI login", session.front_matter(snapshot))
    recording = tmp_path / "login.sls"
    recording.write_text(text)
    assert "type ${CHALLENGE}" in text and "# CHALLENGE = { random = 6 }" in text
    assert 'type ${PIN}\nexpect "PIN>****"' in text and '# PIN = "1234"' in text
    assert "expect /[0-9]{8}/\ncapture CODE1" in text
    assert_replays(recording, tmp_path)
