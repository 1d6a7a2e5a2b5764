"""What `slsbridge serve --http` is told on its command line, handed to every worker process
through one environment variable (uvicorn starts workers by importing the app factory)."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Final

ENV_HTTP_CONFIG: Final = "SLSEMU_HTTP_CONFIG"
LOOPBACK: Final = ("127.0.0.0/8", "::1/128")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """`client_networks` may call `/validate/*` (privacyIDEA's clients send no key); the rates
    are requests per `window` seconds per client address, user, device and API key."""

    client_networks: tuple[str, ...] = LOOPBACK
    per_address: int = 600
    per_user: int = 60
    per_device: int = 60
    per_key: int = 6000
    window: float = 60.0

    def __post_init__(self) -> None:
        self.networks()  # ValueError for a bad network
        for rate in (self.per_address, self.per_user, self.per_device, self.per_key):
            if not 1 <= rate <= 10_000_000:
                raise ValueError("a rate limit must be 1 to 10000000 requests per window")
        if not 1 <= self.window <= 86_400:
            raise ValueError("the rate-limit window must be 1 to 86400 seconds")

    def networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.client_networks)

    def allows(self, address: str | None) -> bool:
        """Whether a client at `address` may call the validate endpoints."""
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks())

    def to_env(self) -> str:
        return json.dumps({
            "client_networks": list(self.client_networks), "per_address": self.per_address,
            "per_user": self.per_user, "per_device": self.per_device, "per_key": self.per_key,
            "window": self.window,
        })

    @classmethod
    def from_env(cls) -> HttpConfig:
        text = os.environ.get(ENV_HTTP_CONFIG)
        if not text:
            return cls()
        data = json.loads(text)
        data["client_networks"] = tuple(data["client_networks"])
        return cls(**data)
