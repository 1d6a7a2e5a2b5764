"""The storage engine layer: store URLs, engines, transactions, the schema and its migrations.

Nothing above `host_bridge.repos` imports SQLAlchemy; services see a `Tx` and nothing else.
"""
