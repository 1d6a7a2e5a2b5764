"""The `sls_bridge` fixture's object: a throwaway host store and its Python API.

Everything the plugin does with `host_bridge.service.Bridge` is in this module (open, init, add a
user, provision, challenge, verify), so a change of that API is adapted here and nowhere else. For
anything more, a test uses `sls_bridge.api`, the `Bridge` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .devices import SlsDevice, open_image

if TYPE_CHECKING:
    from host_bridge.bridge import Bridge
    from host_bridge.verification import Challenge

TEST_PASSWORD = "test-password"  # noqa: S105 - a throwaway store's user, made for one test


@dataclass(frozen=True, slots=True)
class Provisioned:
    """A device the bridge provisioned: its serial and image file."""

    serial: str
    image_path: Path


class SlsBridge:
    """A host store in a temporary folder, with users and provisioned devices."""

    def __init__(self, stack: ExitStack, home: Path) -> None:
        from host_bridge.bridge import Bridge

        self._stack = stack
        self.home = home
        self.api: Bridge = stack.enter_context(Bridge.open(home))
        self.api.init()
        self._images = 0

    def connect(self) -> Bridge:
        """A connection of its own to the same store (the TUI opens and closes one on its host
        thread: a store connection belongs to the thread that opened it)."""
        from host_bridge.bridge import Bridge

        return Bridge.open(self.home, config=self.api.config)

    def add_user(self, name: str, password: str = TEST_PASSWORD) -> str:
        """Create a user; return its name."""
        self.api.add_user(name, password)
        return name

    def provision(
        self,
        user: str,
        model: str = "dscplus",
        *,
        pin: str | None = None,
        pin_mode: str | None = None,
        suite: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Provisioned:
        """Provision a device for `user` (made active at once); its image goes in the store's
        folder. An IB Key is made for `user` (its app's user name)."""
        self._images += 1
        path = self.home / f"device-{self._images}.img"
        if model == "ibkey":
            options = {"username": user, **(options or {})}
            if suite is None:
                from firmware_model.ibkey import IBKEY_SUITE

                suite = IBKEY_SUITE
        result = self.api.provision(
            user, model, pin=pin, pin_mode=pin_mode, image_path=path, suite=suite,
            options=options,
        )
        if result.status == "pending":
            self.api.activate(result.serial)
        return Provisioned(result.serial, path)

    def device(self, provisioned: Provisioned, *, clock: float | None = None) -> SlsDevice:
        """The provisioned device, opened in-process on a virtual clock that starts at `clock`
        (default: now, so time-based codes agree with the host)."""
        return open_image(self._stack, provisioned.image_path, clock)

    def challenge(self, serial: str) -> Challenge:
        """Issue a challenge for device `serial` (`.text` is what the login screen shows)."""
        return self.api.issue_challenge(serial)

    def verify(self, serial: str, challenge_id: str, response: str) -> bool:
        """Whether the host accepts `response` to the challenge."""
        return self.api.verify(serial, challenge_id, response).accepted
