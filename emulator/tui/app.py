"""The slsemu terminal app: device faceplates beside the broker's login screen.

Theory of operation (a thin view, like Textual's `examples/calculator.py`):

* The models are `DeviceSession`s (one per image; they own the device, its clock and its file)
  and, when a host is attached, the host bridge behind the login pane.
* Input reaches a device two ways, both ending in `press_button`: a click on a faceplate key
  (`Faceplate.Pressed`) or a keyboard key looked up in the active `Keymap` (a dict; data, not an
  `if key == ...` chain). Keys typed into a text field stay text: the keymap only acts when focus
  is not in an `Input`.
* After each event the app copies a `DeviceView` snapshot into the faceplate's reactive `view`;
  the faceplate redraws itself. Device and host events go to the event log.
* In real-time mode (interactive use) the session clock follows the wall clock and a timer lets
  time-outs fire; in virtual-time mode (scripts, tests) time moves only when told.
* Other threads reach the app only through `call_from_thread`/`post_message`
  (see `emulator.tui.script_target`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    ContentSwitcher,
    Footer,
    RichLog,
    Static,
)

from emulator.session import DeviceSession
from emulator.tui.device_tabs import DeviceTabs
from emulator.tui.faceplate_factory import device_view, make_faceplate
from emulator.tui.faceplates import DeviceView, Faceplate, SccFaceplate
from emulator.tui.keymap import Keymap
from emulator.tui.login_messages import ChallengeClosed, HostEvent, SecondFactorChosen
from emulator.tui.login_pane import LoginPane
from emulator.tui.login_steps import Step
from firmware_model.errors import SlsError
from firmware_model.events import DeviceEvent, PushApproved, PushDenied
from firmware_model.ibkey import IbKey
from firmware_model.models import short_name

TICK_SECONDS = 0.5
MAX_LOG_LINES = 500


class SlsApp(App[None]):
    """Emulated devices and, when a host is attached, the login screen."""

    CSS_PATH = "app.tcss"
    # Classes on the screen by terminal size; app.tcss lays out by them (80x24: -narrow -short).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    TITLE = "slsemu"
    SUB_TITLE = "Secure Login System emulator"
    # F1 works everywhere (priority: even in a text field); `?` only where it is not text, so
    # a password may contain one. The keymap may not use these keys (keymap.RESERVED_KEYS).
    BINDINGS = [
        Binding("f1", "help", "Help", priority=True),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f2", "next_device", "Next device"),
        Binding("f3", "log_out", "Log out"),
        Binding("f6", "ibkey_setup", "IB Key setup", show=False),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(
        self,
        sessions: Sequence[DeviceSession],
        *,
        keymap: Keymap,
        login: LoginPane | None = None,
        real_time: bool = True,
        on_ready: Callable[[], None] | None = None,
        log_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._log_clock = log_clock  # the event log's time stamps (fixed in snapshot tests)
        if not sessions:
            raise ValueError("the app needs at least one device")
        self.keymap = keymap
        self.real_time = real_time
        self._sessions: dict[str, DeviceSession] = {}
        self._views: dict[str, DeviceView] = {}
        for session in sessions:
            view = device_view(session, session.device.to_image().serial)
            self._sessions[view.serial] = session
            self._views[view.serial] = view
        self._faces: dict[str, Faceplate] = {}
        self._active = next(iter(self._sessions))
        self._login = login
        self._on_ready = on_ready
        self.handled_keys = 0
        self.key_handled = asyncio.Event()
        self.last_error: SlsError | OSError | None = None

    # --- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(f"{self.TITLE} — {self.SUB_TITLE}", id="title")
        labels = {
            serial: f"{short_name(view.model)} {serial[-4:]}"
            for serial, view in self._views.items()
        }
        with Horizontal(id="main"):
            with Vertical(id="devices"):
                yield DeviceTabs(labels, self._active, id="device-tabs")
                with ContentSwitcher(id="device-switcher", initial=f"face-{self._active}"):
                    for serial, view in self._views.items():
                        self._faces[serial] = make_faceplate(
                            self._sessions[serial], view, f"face-{serial}", self.keymap
                        )
                    # The hidden ones are mounted after the first frame (`_mount_faces`).
                    yield self._faces[self._active]
            if self._login is not None:
                yield self._login
        yield RichLog(id="events", max_lines=MAX_LOG_LINES, wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        # A login starts with the password, so the login pane gets the keys first; the faceplate
        # gets them once a device is chosen (or when the user clicks or tabs to it).
        if self._login is not None:
            self._login.focus_entry()
        else:
            self.focus_device()
        if self.real_time:
            self.set_interval(TICK_SECONDS, self.tick)
        self.call_after_refresh(self._mount_faces)
        self.log_event("app", f"keymap {self.keymap.name}: F1 lists the keys")

    def _mount_faces(self) -> None:
        """Mount the faceplates the first frame does not show: a faster start."""
        for serial in self._faces:
            self._mount_face(serial)

    def _mount_face(self, serial: str) -> None:
        face = self._faces[serial]
        found = self.query("#device-switcher").results(ContentSwitcher)
        switcher = next(found, None)
        if face.parent is None and switcher is not None and switcher.is_attached:  # not closing
            face.display = serial == self._active
            switcher.mount(face)  # in the DOM at once

    def on_ready(self) -> None:
        if self._on_ready is not None:
            self._on_ready()

    # --- which device -----------------------------------------------------------------------------

    @property
    def serials(self) -> list[str]:
        """Serials of the devices shown, in tab order."""
        return list(self._sessions)

    @property
    def active_serial(self) -> str:
        """The serial of the device on the visible tab."""
        return self._active

    def session(self, serial: str) -> DeviceSession:
        """The session of device `serial`."""
        return self._sessions[serial]

    def faceplate(self, serial: str) -> Faceplate:
        """The faceplate widget of device `serial` (it may not be mounted yet)."""
        return self._faces[serial]

    def show_device(self, serial: str, *, focus: bool = True) -> None:
        """Bring device `serial` to the front and (unless told not to) focus it; nothing for a
        device not loaded."""
        if serial not in self._sessions:
            return
        self._active = serial
        self._mount_face(serial)  # F2 before the hidden faceplates were mounted
        self.query_one("#device-switcher", ContentSwitcher).current = f"face-{serial}"
        self.query_one("#device-tabs", DeviceTabs).active = serial
        if focus:
            self.call_after_refresh(self.focus_device)

    def on_device_tabs_chosen(self, message: DeviceTabs.Chosen) -> None:
        self.show_device(message.serial)

    def action_next_device(self) -> None:
        """Show the next device (F2)."""
        serials = self.serials
        self.show_device(serials[(serials.index(self._active) + 1) % len(serials)])

    def focus_device(self) -> None:
        """Give keyboard focus to the visible faceplate, where the keymap acts."""
        face = self.faceplate(self.active_serial)
        if face.is_mounted:
            face.focus()

    # --- input → model ----------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Keyboard keys → device buttons through the keymap (a dict lookup).

        Only while a faceplate has focus: elsewhere (login fields, lists, buttons) keys keep their
        usual meaning, so Enter in the login pane never presses OK on a card by accident.
        """
        if isinstance(self.screen, ModalScreen):
            return  # the help screen is open
        if self.focused is not None and not isinstance(self.focused, Faceplate):
            return
        button = self.keymap.button_for(event.key)
        if button is None:
            return
        event.stop()
        event.prevent_default()
        try:
            self.press_button(button)
        finally:
            self.handled_keys += 1
            self.key_handled.set()

    def on_faceplate_to_answer(self, _message: Faceplate.ToAnswer) -> None:
        """Tab on a device: to the field waiting for its code, else the next widget as usual."""
        field = self._login.answer_field() if self._login is not None else None
        if field is not None:
            field.focus()
        else:
            self.screen.focus_next()

    def on_faceplate_pressed(self, message: Faceplate.Pressed) -> None:
        serial = (message.faceplate.id or "").removeprefix("face-")
        if serial != self._active:
            self.show_device(serial)
        self.press_button(message.button, serial)

    def press_button(self, button: str, serial: str | None = None) -> None:
        """Press `button` on device `serial` (default: the visible one) and redraw it."""
        serial = serial or self.active_serial
        session = self._sessions[serial]
        if button not in session.device.buttons:
            self.log_event(serial, f"{session.device.model} has no {button} key")
            return
        self._run(serial, lambda: session.press(button))

    def hold_button(self, button: str, seconds: float, serial: str | None = None) -> None:
        """Hold `button` for `seconds` on device `serial` (scripts)."""
        serial = serial or self.active_serial
        session = self._sessions[serial]
        self._run(serial, lambda: session.hold(button, seconds))

    def wait_device(self, seconds: float, serial: str | None = None) -> None:
        """Let `seconds` pass on device `serial`'s clock (scripts)."""
        serial = serial or self.active_serial
        session = self._sessions[serial]
        self._run(serial, lambda: session.wait(seconds))

    def tick(self) -> None:
        """Real time: let the visible device's time-outs fire."""
        serial = self.active_serial
        session = self._sessions[serial]
        self._run(serial, lambda: session.set_time(time.time()), quiet=True)

    def _run(self, serial: str, event: Callable[[], None], quiet: bool = False) -> None:
        """Apply one event to a session, then mirror the device into its faceplate."""
        session = self._sessions[serial]
        self.last_error = None
        try:
            if self.real_time and not quiet:
                session.set_time(time.time())
            event()
        except SlsError as exc:
            self.last_error = exc
            self.log_event(serial, f"error: {exc}")
            self.notify(str(exc), severity="error")
        except OSError as exc:  # as `slsemu serve` says ERR INTERNAL: report it, keep running
            self.last_error = exc
            message = f"image could not be saved: {exc.strerror or exc}"
            self.log_event(serial, f"error: {message}")
            self.notify(message, severity="error")
        events = session.last_reaction.events
        for device_event in events:
            self.log_event(serial, device_event.describe())  # never a code
        self.refresh_device(serial)
        self._route_device_events(events)

    def refresh_device(self, serial: str) -> None:
        """Copy the device state into its faceplate (the faceplate redraws if it changed)."""
        view = device_view(self._sessions[serial], serial)
        if view != self._views.get(serial):
            self._views[serial] = view
            self.faceplate(serial).view = view

    def read_display(self, serial: str | None = None) -> str:
        """The display text as the faceplate shows it."""
        view = self.faceplate(serial or self.active_serial).view
        return view.display if view is not None else ""

    # --- host side --------------------------------------------------------------------------------

    def on_host_event(self, message: HostEvent) -> None:
        self.log_event("host", message.text)

    def on_second_factor_chosen(self, message: SecondFactorChosen) -> None:
        """The screen asks a device for a code: show it (an SCC's codes are typed into the
        screen, so only the other devices get the keys), point every SCC at the cells this
        challenge asks for (none on the others), push to a phone."""
        self._highlight(message.serial, message.indices)
        self.show_device(message.serial, focus=message.device_keys)
        if message.serial not in self._sessions:
            return
        device = self._sessions[message.serial].device
        if message.push and isinstance(device, IbKey):
            self._push(message.serial, device, message.challenge_id, message.text, message.user)

    def on_challenge_closed(self, _message: ChallengeClosed) -> None:
        """No code is asked any more: no SCC shows cells of a challenge that is gone."""
        self._highlight(None, ())

    def _highlight(self, serial: str | None, indices: tuple[int, ...]) -> None:
        for face_serial, face in self._faces.items():
            if isinstance(face, SccFaceplate):
                face.highlight = indices if face_serial == serial else ()

    def _push(
        self, serial: str, device: IbKey, push_id: str, challenge: str, user: str | None
    ) -> None:
        """Deliver the login to the phone app as a push notification (IB Key's seamless login)."""
        if not device.usernames:
            return
        username = user if user in device.usernames else device.usernames[0]
        session = self._sessions[serial]

        def receive() -> None:
            if self.real_time:
                session.set_time(time.time())
            reaction = device.receive_push(push_id, username, challenge, session.now)
            for device_event in reaction.events:
                self.log_event(serial, device_event.describe())
            if reaction.persist:
                session.save()

        self._run(serial, receive, quiet=True)
        self.log_event(serial, f"push notification: login request for {username}")

    def _route_device_events(self, events: tuple[DeviceEvent, ...]) -> None:
        """Events the login cares about: a push approved (with its response) or denied."""
        if self._login is None:
            return
        for device_event in events:
            if isinstance(device_event, PushApproved):
                self._login.push_answered(device_event.push_id, device_event.response)
            elif isinstance(device_event, PushDenied):
                self._login.push_answered(device_event.push_id, None)

    def log_event(self, source: str, text: str) -> None:
        """Add a line to the event log."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self._log_clock()))
        self.query_one("#events", RichLog).write(f"{stamp} [{source}] {text}")

    def action_help(self) -> None:
        """Open the help (F1 again, Esc or `?` closes it)."""
        from emulator.tui.help_screen import HelpScreen  # on first use: a faster start

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.keymap))

    def action_ibkey_setup(self) -> None:
        """The IB Key phone's activation / recovery screens (F6), through the host."""
        from emulator.tui.ibkey_setup import IbKeySetup  # on first use: a faster start

        serial, session = self._active, self._sessions[self._active]
        if self._login is None or not isinstance(session.device, IbKey):
            self.notify("F6: show the IB Key phone first", severity="warning")
            return

        def changed(text: str) -> None:
            if text:
                self.log_event(serial, text)
            self.refresh_device(serial)

        self.push_screen(IbKeySetup(self._login.host, session, serial, changed))

    def action_log_out(self) -> None:
        """Log out (F3): the login starts over, every pane forgets the session."""
        if self._login is not None:
            self._login.log_out()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "log_out":  # offered only while someone is logged in (or logging in)
            return self._login is not None and self._login.step is not Step.CREDENTIALS
        return True
