"""`Bridge`: the host bridge's Python API, a thin facade over the services (the CLI, the TUI,
the serial login and the policies call this).

A `Bridge` owns one store connection (`host_bridge.db`), the master key (loaded on first need
and checked against the store's check value), a clock and an entropy source — both injectable,
so tests never sleep and can be reproducible. Each method is one unit of work of a service
(`host_bridge.services`). Typical use:

    bridge = Bridge.open()                      # data folder from SLSEMU_HOME
    bridge.init()                               # once: master key + check value
    bridge.add_user("alice", "correct horse")
    result = bridge.provision("alice", "dscplus", pin="1234", image_path=Path("alice.img"))
    challenge = bridge.issue_challenge(result.serial)
    verdict = bridge.verify(result.serial, challenge.id, response)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from firmware_model.device import Entropy
from host_bridge.config import BridgeConfig
from host_bridge.db.engine import Database, shown, store_url
from host_bridge.db.migrate import upgrade
from host_bridge.masterkey import MasterKey
from host_bridge.repos.outbox import Outbox
from host_bridge.services.apikeys import ApiKeyService
from host_bridge.services.challenges import ChallengeService
from host_bridge.services.context import Context
from host_bridge.services.devices import DeviceService
from host_bridge.services.guesses import GuessService
from host_bridge.services.provisioning import ProvisioningService
from host_bridge.services.push import PushService
from host_bridge.services.ratelimits import RateLimitService
from host_bridge.services.sms import SmsService
from host_bridge.services.transactions import TransactionService
from host_bridge.services.users import UserService
from slsio.home import data_home


class Bridge:
    """The host bridge over one store. Not thread-safe: one per thread or process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.users = UserService(ctx)
        self.sms = SmsService(ctx)
        self.provisioning = ProvisioningService(ctx, self.sms)
        self.device_service = DeviceService(ctx, self.sms)
        self.challenges = ChallengeService(ctx, self.sms)
        self.guesses = GuessService(ctx)
        self.api_keys = ApiKeyService(ctx)
        self.rate_limits = RateLimitService(ctx)
        self.push = PushService(self.challenges)
        self.transactions = TransactionService(
            self.users, self.device_service, self.challenges, self.push
        )
        # The facade's methods are the services' own (no wrapper on the login's hot path).
        self.add_user = self.users.add_user
        self.user = self.users.user
        self.check_password = self.users.check_password
        self.provision = self.provisioning.provision
        self.import_keys = self.provisioning.import_keys
        self.export_key = self.provisioning.export_key
        self.device = self.device_service.device
        self.devices = self.device_service.devices
        self.all_devices = self.device_service.all_devices
        self.activate = self.device_service.activate
        self.unlock = self.device_service.unlock
        self.revoke = self.device_service.revoke
        self.unlock_code = self.device_service.unlock_code
        self.scc_cell_count = self.device_service.scc_cell_count
        self.issue_challenge = self.challenges.issue
        self.verify = self.challenges.verify
        self.audit = ctx.audit_log.rows

    @classmethod
    def open(
        cls,
        home: Path | None = None,
        clock: Callable[[], float] = time.time,
        *,
        entropy: Entropy = os.urandom,
        config: BridgeConfig | None = None,
    ) -> Bridge:
        """Open the bridge on data folder `home` (default: `SLSEMU_HOME` / the per-user folder)
        and its store (`SLSEMU_STORE`, `store` in bridge.toml, or the SQLite file there),
        migrating the store's schema if it is older than this build."""
        if home is None:
            home = data_home()
        else:
            home = Path(home)
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = config or BridgeConfig.load(home)
        db = Database.connect(
            store_url(home, config.store), busy_timeout_ms=config.busy_timeout_ms,
            retries=config.serialization_retries,
        )
        try:
            upgrade(db)
        except BaseException:
            db.close()
            raise
        if db.path is not None:
            _make_private(db.path)
        return cls(Context(db, home, clock=clock, entropy=entropy, config=config))

    @property
    def home(self) -> Path:
        return self.ctx.home

    @property
    def config(self) -> BridgeConfig:
        return self.ctx.config

    @property
    def clock(self) -> Callable[[], float]:
        return self.ctx.clock

    @property
    def entropy(self) -> Entropy:
        return self.ctx.entropy

    @property
    def outbox(self) -> Outbox:
        return self.ctx.outbox

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def store_name(self) -> str:
        """The SQLite file, or the server URL without its password."""
        db = self.ctx.db
        return str(db.path) if db.path is not None else shown(db.url)

    def close(self) -> None:
        self.ctx.db.close()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def init(self) -> Path | None:
        """Create the master key file (unless `SLSEMU_MASTER_KEY` is set) and the check value.
        Idempotent. Returns the key file created, or None."""
        return self.ctx.init_master()

    @property
    def master(self) -> MasterKey:
        return self.ctx.master


def _make_private(path: Path) -> None:
    """User data: private, like the folder (0700)."""
    for suffix in ("", "-wal", "-shm"):
        try:
            Path(f"{path}{suffix}").chmod(0o600)
        except OSError:  # e.g. a read-only mount or no WAL file yet
            continue
