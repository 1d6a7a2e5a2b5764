"""A throwaway PostgreSQL cluster for `make test` and `make bench`, and scratch databases on it.

    python -m tests.pg_cluster [--durable] [--env NAME] -- COMMAND [ARG ...]

creates a temporary folder, runs `initdb` in it, starts the server listening on a Unix socket in
that folder only (no TCP port), runs COMMAND with the environment variable NAME (default
`SLSEMU_TEST_PG_URL`) set to the cluster's URL, then stops the server and removes the folder —
also when COMMAND fails or the wrapper is interrupted — and exits with COMMAND's exit code.

`initdb` refuses to run as root, so as root the server runs as `nobody`, in a folder it owns.
The binaries are looked up on PATH, then under /usr/lib/postgresql/*/bin (Debian installs them
there without putting them on PATH). Tests run with `fsync=off` (a lost test database harms
nobody and start-up stays quick); `--durable` keeps PostgreSQL's defaults (fsync and synchronous
commit on) for the benchmarks, which measure durable commits.

A developer who is not root points the tests at a server of their own instead (any role that
may CREATE DATABASE):

    SLSEMU_TEST_PG_URL=postgresql://me@/postgres?host=/var/run/postgresql pytest

`scratch_database(url)` gives each test (or benchmark) its own new database and drops it after;
with `template=` the new database starts as a copy of another (the tests' migrated schema).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

URL_ENV = "SLSEMU_TEST_PG_URL"
SUPERUSER = "slsemu"
UNPRIVILEGED = "nobody"
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; the socket file name takes 13 of them

# Settings for every throwaway cluster: Unix socket only, room for the concurrency tests
# (16 processes, each with a connection or two, beside two pytest workers).
COMMON_SETTINGS = {
    "listen_addresses": "''",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "logging_collector": "off",
}
# Test clusters only: nothing survives the run, so nothing needs to reach the disk.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ClusterError(Exception):
    """The throwaway cluster could not be set up; the message is one line."""


def find_binary(name: str) -> Path:
    """`initdb`/`pg_ctl`: on PATH, else the newest Debian version directory."""
    found = shutil.which(name)
    if found:
        return Path(found)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    candidates = sorted(DEBIAN_BINARIES.glob(f"*/bin/{name}"), key=version, reverse=True)
    if not candidates:
        raise ClusterError(
            f"PostgreSQL's {name} not found on PATH or under {DEBIAN_BINARIES}/*/bin "
            "(apt-get install postgresql)"
        )
    return candidates[0]


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running throwaway cluster: its folder and the URL of its `postgres` database."""

    folder: Path
    url: str

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"


def _run_as(account: pwd.struct_passwd | None, args: Sequence[str | Path], cwd: Path) -> None:
    """Run a PostgreSQL tool, as `account` when given; its output only on failure."""
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        extra_groups=[] if account else None,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ClusterError(f"{Path(args[0]).name} failed: {detail[-1] if detail else '?'}")


def _account() -> pwd.struct_passwd | None:
    """The account the server runs as: `nobody` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        raise ClusterError(f"no '{UNPRIVILEGED}' account to run PostgreSQL as") from None


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a new temporary folder; stop it and remove the folder on exit."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    account = _account()
    # As root, /tmp: the unprivileged server must reach the folder (TMPDIR may be private).
    folder = Path(tempfile.mkdtemp(prefix="slspg-", dir="/tmp" if account else None))
    started = False
    try:
        if len(str(folder)) > SOCKET_PATH_MAX - 20:
            raise ClusterError(f"temporary folder path too long for a Unix socket: {folder}")
        if account:
            os.chown(folder, account.pw_uid, account.pw_gid)
        cluster = Cluster(folder, f"postgresql://{SUPERUSER}@/postgres?host={folder}")
        _run_as(
            account,
            [initdb, "-D", cluster.data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            folder,
        )
        settings = {**COMMON_SETTINGS, "unix_socket_directories": f"'{folder}'"}
        if not durable:
            settings.update(FAST_SETTINGS)
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        started = True
        try:
            _run_as(account, [pg_ctl, "-D", cluster.data, "-l", cluster.log, "-w", "start"],
                    folder)
        except ClusterError as error:
            tail = cluster.log.read_text(errors="replace").strip().splitlines()[-1:]
            raise ClusterError(f"{error}{' — ' + tail[0] if tail else ''}") from None
        yield cluster
    finally:
        if started:
            with contextlib.suppress(ClusterError):
                _run_as(account, [pg_ctl, "-D", folder / "data", "-m", "fast", "-w", "stop"],
                        folder)
        shutil.rmtree(folder, ignore_errors=True)


def database_url(url: str, database: str) -> str:
    """`url` with its database (the path) replaced, credentials and query kept."""
    return urlsplit(url)._replace(path=f"/{database}").geturl()


@contextlib.contextmanager
def scratch_database(url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server `url` points at — empty, or a copy of database `template`
    (which must have no open connection) — dropped, connections and all, afterwards."""
    import psycopg
    from psycopg import sql

    name = f"slsemu_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as admin:
        # FILE_COPY (PostgreSQL 15+) copies the template's files after a checkpoint: with fsync
        # off that is ~40 ms, against ~120 ms for the default WAL_LOG, on every test.
        strategy = " STRATEGY = FILE_COPY" if admin.info.server_version >= 150000 else ""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        admin.execute(statement + sql.SQL(strategy))
    try:
        yield database_url(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class _Terminated(Exception):
    """SIGTERM reached the wrapper while no command was running: clean up and leave."""


def _run_command(command: Sequence[str], env_name: str, url: str) -> int:
    """Run `command` with `env_name=url`; a SIGTERM to us is passed on, and we wait for it."""
    child = subprocess.Popen(command, env={**os.environ, env_name: url})

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # the terminal sent SIGINT to the command too: it ends
                continue
    finally:
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.pg_cluster",
        description="Run a command beside a throwaway PostgreSQL cluster.",
    )
    parser.add_argument("--durable", action="store_true", help="fsync on (for benchmarks)")
    parser.add_argument("--env", default=URL_ENV, help=f"variable for the URL (default {URL_ENV})")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (… -- COMMAND)")
    signal.signal(signal.SIGTERM, _terminate)  # so the cluster is stopped on SIGTERM too
    try:
        with throwaway_cluster(durable=args.durable) as cluster:
            return _run_command(command, args.env, cluster.url)
    except ClusterError as error:
        print(f"error: throwaway PostgreSQL: {error}", file=sys.stderr)
        return 2
    except _Terminated:
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
