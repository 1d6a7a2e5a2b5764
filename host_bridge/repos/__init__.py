"""Repositories: one module per aggregate, the only code that holds SQL (SQLAlchemy Core).

Each function takes the `Tx` of the caller's unit of work (`host_bridge.db.engine`) and returns
domain records (`host_bridge.domain`). Reads a decision depends on take `lock=True`
(`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the `BEGIN IMMEDIATE` write lock covers it).
"""
