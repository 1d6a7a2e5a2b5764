"""The RADIUS clients file: who may send requests, and the shared secret of each.

    [[client]]
    name = "vpn"                      # named in the audit rows of its logins
    address = "127.0.0.1/32"          # an address or a network (IPv4 or IPv6)
    secret_file = "vpn.secret"        # or: secret = "…"; relative to the clients file

The file is read through the one TOML reader (`slsio.toml`, bounded) and, because it may hold
secrets, refused when others can read it; so is a `secret_file`. A problem is one `ClientsError`
naming the file and the client, never quoting a secret. Networks may not overlap: a packet's
source address names exactly one client, so it is checked with exactly one secret.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from host_bridge.errors import BridgeError
from slsio.files import read_private_text
from slsio.toml import TomlError, read_toml

MAX_CLIENTS: Final = 1000
MAX_SECRET_BYTES: Final = 128
"""RFC 2865 wants at least 16 octets "preferred"; a longer secret buys nothing over MD5."""
MIN_SECRET_BYTES: Final = 8
_FIELDS: Final = frozenset({"name", "address", "secret", "secret_file"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientsError(BridgeError):
    """The clients file cannot be used (malformed, readable by others, a bad entry)."""


@dataclass(frozen=True, slots=True)
class Client:
    """One RADIUS client: a name for the audit, the network it sends from, its shared secret."""

    name: str
    network: Network
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64 or not self.name.isprintable():
            raise ValueError("a client name is 1 to 64 printable characters")
        if not MIN_SECRET_BYTES <= len(self.secret) <= MAX_SECRET_BYTES:
            raise ValueError(f"a secret is {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")

    @property
    def caller(self) -> str:
        """How audit rows name this client."""
        return f"radius:{self.name}"


@dataclass(frozen=True, slots=True)
class Clients:
    """The clients of one server; `find` maps a source address to its client (or None)."""

    entries: tuple[Client, ...]

    def __post_init__(self) -> None:
        names: set[str] = set()
        for number, client in enumerate(self.entries):
            if client.name in names:
                raise ValueError(f"two clients are named {client.name!r}")
            names.add(client.name)
            for other in self.entries[:number]:
                if client.network.version == other.network.version and client.network.overlaps(
                    other.network
                ):
                    raise ValueError(f"clients {other.name!r} and {client.name!r} overlap")

    def find(self, host: str) -> Client | None:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        for client in self.entries:
            if address in client.network:
                return client
        return None


def load_clients(path: Path) -> Clients:
    """Read and check the clients file at `path`."""
    where = os.fspath(path)
    try:
        document = read_toml(path, private=True)
    except (TomlError, OSError) as exc:
        raise ClientsError(_problem(where, exc)) from None
    unknown = set(document) - {"client"}
    if unknown:
        raise ClientsError(f"{where}: unknown setting {sorted(unknown)[0]!r} (only [[client]])")
    tables = document.get("client", [])
    if not isinstance(tables, list) or not tables:
        raise ClientsError(f"{where}: no [[client]] table")
    if len(tables) > MAX_CLIENTS:
        raise ClientsError(f"{where}: more than {MAX_CLIENTS} clients")
    entries = [_client(path.parent, where, number, table) for number, table in enumerate(tables)]
    try:
        return Clients(tuple(entries))
    except ValueError as exc:
        raise ClientsError(f"{where}: {exc}") from None


def _client(folder: Path, where: str, number: int, table: Any) -> Client:
    label = f"{where}: client {number + 1}"
    if not isinstance(table, dict):
        raise ClientsError(f"{label}: not a table")
    extra = set(table) - _FIELDS
    if extra:
        raise ClientsError(f"{label}: unknown field {sorted(extra)[0]!r}")
    name, address = table.get("name"), table.get("address")
    if not isinstance(name, str) or not isinstance(address, str):
        raise ClientsError(f"{label}: needs text fields name and address")
    label = f"{where}: client {name!r}"
    try:
        network = ipaddress.ip_network(address, strict=True)
    except ValueError:
        raise ClientsError(f"{label}: address must be an address or a network") from None
    secret = _secret(folder, label, table)
    try:
        return Client(name, network, secret)
    except ValueError as exc:
        raise ClientsError(f"{label}: {exc}") from None


def _secret(folder: Path, label: str, table: dict[str, Any]) -> bytes:
    given = [name for name in ("secret", "secret_file") if name in table]
    if len(given) != 1:
        raise ClientsError(f"{label}: needs exactly one of secret and secret_file")
    value = table[given[0]]
    if not isinstance(value, str):
        raise ClientsError(f"{label}: {given[0]} must be text")
    if given[0] == "secret_file":
        path = folder / value
        try:
            value = read_private_text(path, 4 * MAX_SECRET_BYTES).split("\n", 1)[0].rstrip("\r")
        except (ValueError, OSError) as exc:
            raise ClientsError(f"{label}: {_problem(os.fspath(path), exc)}") from None
    return value.encode("utf-8")


def _problem(where: str, exc: Exception) -> str:
    """One line for a file that cannot be read (the OS error text, never the content)."""
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return f"{where}: {reason}"
    text = str(exc)
    return text if text.startswith(where) else f"{where}: {text}"


def describe(clients: Iterable[Client]) -> str:
    """`name network` pairs, for the server's start line (never a secret)."""
    return ", ".join(f"{client.name} {client.network}" for client in clients)
