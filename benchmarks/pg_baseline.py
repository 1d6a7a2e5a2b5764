"""The PostgreSQL side of the benchmarks: the server `make bench` started, and the bare baseline.

`make bench` runs the benchmarks inside `tests/pg_cluster.py --durable`, a throwaway cluster
with PostgreSQL's durable defaults (fsync on, `synchronous_commit = on`), and names it in
SLSEMU_BENCH_PG_URL. The baseline is what a durable write costs on that server at the least: one
row inserted and committed per call, through psycopg, with no framework around it.
"""

from __future__ import annotations

import os

import psycopg

BENCH_URL_ENV = "SLSEMU_BENCH_PG_URL"


def bench_server() -> str:
    """The benchmark server's URL; a clear stop when `make bench` did not start one."""
    url = os.environ.get(BENCH_URL_ENV)
    if not url:
        raise SystemExit(
            f"error: {BENCH_URL_ENV} is not set: run `make bench` (it starts a durable "
            "throwaway PostgreSQL) or `python -m tests.pg_cluster --durable --env "
            f"{BENCH_URL_ENV} -- python -m benchmarks`"
        )
    return url


class BareInserts:
    """`INSERT …; COMMIT` of one small row per call, on its own table and connection."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url)
        self.conn.execute(
            "CREATE TABLE bare (id bigserial PRIMARY KEY, at double precision NOT NULL, "
            "v text NOT NULL)"
        )
        self.conn.commit()

    def commit_once(self) -> None:
        self.conn.execute("INSERT INTO bare (at, v) VALUES (%s, %s)", (1.0, "x" * 32))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
