"""The store's schema, for both engines: one SQLAlchemy `MetaData`.

Money is integer cents (BIGINT); times are Unix seconds (double); dates are ISO `YYYY-MM-DD`
text. Secrets (device keys, PINs, SMS codes) are stored sealed by the master key.

`challenges` is WITHOUT ROWID on SQLite (the id is the table's own key: storing a challenge writes
one b-tree); its partial indexes serve the SMS resend limit and IB Key activation only, so the
common card challenges touch no index. `audit` is append-only: a trigger on each engine refuses
UPDATE and DELETE (created by the migrations, `host_bridge/db/migrations/`). Column names are the
ones the first (hand-written) schema used, so a store made by it is adopted as it is.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)

metadata: Final = MetaData()

# Row ids: INTEGER PRIMARY KEY is the rowid on SQLite; BIGINT identity on PostgreSQL.
RowId: Final = BigInteger().with_variant(Integer(), "sqlite")
Real: Final = Float(precision=53)

meta = Table(
    "meta", metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

users = Table(
    "users", metadata,
    Column("name", Text, primary_key=True),
    Column("pw_hash", LargeBinary, nullable=False),
    Column("pw_salt", LargeBinary, nullable=False),
    Column("pw_n", Integer, nullable=False),
    Column("pw_r", Integer, nullable=False),
    Column("pw_p", Integer, nullable=False),
    Column("date_of_birth", Text),
    Column("citizenship", Text),
    Column("residence", Text),
    Column("id_type", Text),
    Column("id_number", Text),
    Column("entity", Text),
    Column("account", Text, nullable=False),
    Column("equity_cents", BigInteger, nullable=False, server_default=text("0")),
    Column("balance_cents", BigInteger, nullable=False, server_default=text("0")),
    Column("opt_out", Text, nullable=False, server_default=text("'none'")),
    Column("primary_user", Integer, nullable=False,
           server_default=text("0")),
    Column("created", Real, nullable=False),
    Index("users_account", "account"),
    Index("users_entity", "entity"),
    Index("users_date_of_birth", "date_of_birth"),  # revision 0007: the DSC+ hold's accounts
    CheckConstraint("length(name) BETWEEN 1 AND 64", name="ck_users_name"),
    CheckConstraint("opt_out IN ('none', 'partial', 'full')", name="ck_users_opt_out"),
    CheckConstraint("primary_user IN (0, 1)", name="ck_users_primary_user"),
)

devices = Table(
    "devices", metadata,
    Column("serial", Text, primary_key=True),
    Column("model", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("suite", Text),
    Column("key_enc", LargeBinary, nullable=False),
    Column("counter", BigInteger, nullable=False,
           server_default=text("0")),
    Column("pin_mode", Text),
    Column("pin_enc", LargeBinary),
    Column("time_step", Integer),
    Column("drift", Integer, nullable=False, server_default=text("0")),
    Column("last_step", BigInteger),
    Column("failures", Integer, nullable=False,
           server_default=text("0")),
    Column("temporary", Integer, nullable=False,
           server_default=text("0")),
    Column("valid_until", Real),
    Column("replaced_by", Text),
    Column("created", Real, nullable=False),
    Column("activated", Real),
    Column("updated", Real, nullable=False),
    Column("otp", Text),  # revision 0002: HOTP/TOTP parameters of an imported OATH token
    CheckConstraint(
        "status IN ('pending', 'active', 'locked', 'revoked', 'replaced')",
        name="ck_devices_status",
    ),
    CheckConstraint("counter >= 0", name="ck_devices_counter"),
    CheckConstraint("failures >= 0", name="ck_devices_failures"),
    CheckConstraint("temporary IN (0, 1)", name="ck_devices_temporary"),
)

device_users = Table(
    "device_users", metadata,
    Column("serial", Text, ForeignKey("devices.serial"), primary_key=True),
    Column("user", Text, ForeignKey("users.name"), primary_key=True),
    Column("role", Text, nullable=False,
           server_default=text("'owner'")),
    Column("added", Real, nullable=False),
    Index("device_users_user", "user"),
    CheckConstraint("role IN ('owner', 'shared')", name="ck_device_users_role"),
)

challenges = Table(
    "challenges", metadata,
    Column("id", Text, primary_key=True),
    Column("serial", Text, ForeignKey("devices.serial"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("data_enc", LargeBinary),
    Column("created", Real, nullable=False),
    Column("expires", Real, nullable=False),
    Column("used", Integer, nullable=False,
           server_default=text("0")),
    Column("used_at", Real),
    Index("challenges_sms", "serial", "created", sqlite_where=text("kind = 'sms'"),
          postgresql_where=text("kind = 'sms'")),
    Index("challenges_activation", "serial", "created", sqlite_where=text("kind = 'activation'"),
          postgresql_where=text("kind = 'activation'")),
    CheckConstraint("used IN (0, 1)", name="ck_challenges_used"),
    sqlite_with_rowid=False,
)

audit = Table(
    "audit", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", Real, nullable=False),
    Column("event", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("user", Text),
    Column("serial", Text),
    Column("detail", Text, nullable=False, server_default=text("'{}'")),
)

withdrawals = Table(
    "withdrawals", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("account", Text, nullable=False),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("serial", Text),
    Column("amount_cents", BigInteger, nullable=False),
    Column("business_date", Text, nullable=False),
    Column("created", Real, nullable=False),
    Index("withdrawals_account", "account", "business_date"),
    CheckConstraint("amount_cents > 0", name="ck_withdrawals_amount_cents"),
    sqlite_autoincrement=True,
)

share_requests = Table(
    "share_requests", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("requester", Text, ForeignKey("users.name"), nullable=False),
    Column("owner", Text, ForeignKey("users.name"), nullable=False),
    Column("serial", Text, ForeignKey("devices.serial"), nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("created", Real, nullable=False),
    Column("decided", Real),
    CheckConstraint(
        "status IN ('pending', 'approved', 'refused', 'cancelled')",
        name="ck_share_requests_status",
    ),
    sqlite_autoincrement=True,
)

temp_access = Table(
    "temp_access", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("code_hash", LargeBinary),
    Column("code_salt", LargeBinary),
    Column("serial", Text),
    Column("issued", Real, nullable=False),
    Column("full_until", Real, nullable=False),
    Column("portal_until", Real, nullable=False),
    Column("status", Text, nullable=False,
        server_default=text("'active'")),
    Index("temp_access_user", "user", "issued"),
    CheckConstraint("kind IN ('temporary_code', 'online_scc')", name="ck_temp_access_kind"),
    CheckConstraint(
        "status IN ('active', 'expired', 'revoked', 'replaced')",
        name="ck_temp_access_status",
    ),
    sqlite_autoincrement=True,
)

orders = Table(
    "orders", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("model", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("serial", Text),
    Column("pin_enc", LargeBinary),
    Column("ordered", Real, nullable=False),
    Column("shipped", Real),
    Column("auto_activate_by", Real),
    Column("hold_cents", BigInteger, nullable=False,
           server_default=text("0")),
    Column("hold_released", Integer, nullable=False,
           server_default=text("0")),
    # revision 0006 (issue 11, KB1943): the account holding the USD 20, the estimated shipment
    # date (YYYY-MM-DD), the DSC+ this order replaces, the last auto-activation notice sent.
    Column("hold_account", Text),
    Column("ship_estimate", Text),
    Column("replaces", Text),
    Column("notified", Text),
    # revision 0007: `closed` (the account closed without returning the card: the hold is kept)
    CheckConstraint(
        "status IN ('ordered', 'shipped', 'activated', 'returned', 'lost', 'closed')",
        name="ck_orders_status",
    ),
    CheckConstraint("hold_cents >= 0", name="ck_orders_hold_cents"),
    CheckConstraint("hold_released IN (0, 1)", name="ck_orders_hold_released"),
    sqlite_autoincrement=True,
)

guess_budget = Table(
    "guess_budget", metadata,
    Column("secret", Text, primary_key=True),
    Column("user", Text, ForeignKey("users.name"), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("updated", Real, nullable=False),
    CheckConstraint(
        "secret IN ('password', 'temporary_code', 'activation_token')",
        name="ck_guess_budget_secret",
    ),
    CheckConstraint("failures >= 0", name="ck_guess_budget_failures"),
)

holidays = Table(
    "holidays", metadata,
    Column("date", Text, primary_key=True),
    Column("name", Text),
)

AUDIT_GUARD_SQLITE: Final = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
AUDIT_GUARD_POSTGRESQL: Final = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
)
"""The append-only guard, per engine (plain DDL: triggers have no Core construct)."""

# Seed fidelity (revision 0006, issue 11): loss reports, the notices a user sees, and what a
# challenge was issued for (a sharing consent, a Soft PIN change).
device_reports = Table(
    "device_reports", metadata,
    Column("serial", Text, ForeignKey("devices.serial"), primary_key=True),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reported", Real, nullable=False),
    CheckConstraint(  # `closed` since revision 0007
        "reason IN ('lost', 'stolen', 'damaged', 'inoperable', 'closed')",
        name="ck_device_reports_reason",
    ),
)

notices = Table(
    "notices", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("user", Text, ForeignKey("users.name"), nullable=False),
    Column("at", Real, nullable=False),
    Column("kind", Text, nullable=False),
    Column("order_id", Integer),
    Column("text", Text, nullable=False),
    sqlite_autoincrement=True,
)

challenge_purposes = Table(
    "challenge_purposes", metadata,
    Column("challenge_id", Text, primary_key=True),
    Column("purpose", Text, nullable=False),
    Column("subject", Text, nullable=False),
)

# The network front door (revision 0004): API keys, rate-limit windows, validate transactions.
api_keys = Table(
    "api_keys", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("scope", Text, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("created", Real, nullable=False),
    Column("revoked", Real),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("bucket", Text, primary_key=True),
    Column("window_start", Real, nullable=False),
    Column("hits", Integer, nullable=False),
)

validate_transactions = Table(
    "validate_transactions", metadata,
    Column("id", Text, primary_key=True),
    Column("challenge_id", Text, primary_key=True),
    Column("serial", Text, nullable=False),
    Column("user", Text, nullable=False),
    Column("expires", Real, nullable=False),
)

# IB Key push (revision 0005): one row per push; its challenge lives in `challenges`.
pushes = Table(
    "pushes", metadata,
    Column("id", Text, primary_key=True),
    Column("challenge_id", Text, nullable=False, unique=True),
    Column("serial", Text, nullable=False),
    Column("user", Text),
    Column("status", Text, nullable=False),
    Column("created", Real, nullable=False),
    Column("expires", Real, nullable=False),
    Column("answered", Real),
    Column("claimed", Real),
    CheckConstraint(
        "status IN ('pending', 'approved', 'denied', 'expired', 'failed')",
        name="ck_pushes_status",
    ),
)
