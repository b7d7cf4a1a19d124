"""The exchange's tables (SQLAlchemy Core) and the engine that holds them.

SQLite at ``DATA_DIR/exchange.db`` by default; any SQLAlchemy URL (PostgreSQL) works the same,
because only portable Core constructs are used. The audit table is append-only: SQLite
triggers refuse UPDATE and DELETE on it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)

from workbench.server._files import private_file

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", String(40), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("organization_id", String(64), nullable=True),
    Column("verified", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("service", String(50), nullable=False, unique=True),
    Column("entity_types", JSON, nullable=False),
    Column("licence", String(200), nullable=False),
    Column("attribution", Text, nullable=False),
    Column("update_frequency", String(100), nullable=False),
    Column("restricted", Boolean, nullable=False, default=False),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("documentation", Text, nullable=False, default=""),
    Column("tutorial", Text, nullable=False, default=""),
    Column("upstream_url", String(500), nullable=True),
    Column("preview_size", Integer, nullable=False, default=10),
    Column("quality", JSON, nullable=True),
    Column("created_at", String(40), nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("product_id", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("price_per_1000_calls", Integer, nullable=False, default=0),
    Column("monthly_fee", Integer, nullable=False, default=0),
    Column("monthly_quota", Integer, nullable=True),
    Column("rate_limit_per_s", Integer, nullable=True),
    Column("trial_days", Integer, nullable=False, default=0),
    Column("requires_approval", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("product_id", "id"),
)

terms = Table(
    "terms",
    metadata,
    Column("product_id", String(64), nullable=False),
    Column("version", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("permitted_purposes", JSON, nullable=False),
    Column("prohibitions", JSON, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("published_at", String(40), nullable=False),
    PrimaryKeyConstraint("product_id", "version"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("plan_id", String(64), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("terms_version", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("approved_at", String(40), nullable=True),
    Column("approved_by", String(64), nullable=True),
    Column("trial_ends_at", String(40), nullable=True),
    Column("ended_at", String(40), nullable=True),
    ForeignKeyConstraint(["product_id", "plan_id"], ["plans.product_id", "plans.id"]),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("label", String(200), nullable=False),
    Column("client_id", String(80), nullable=True, unique=True),
    Column("secret_hash", String(128), nullable=False, unique=True),
    Column("hint", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    # space-separated scopes (scopes.py); NULL on rows from before scopes: the role's scopes
    Column("scopes", String(200), nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(128), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("credential_id", String(64), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", Integer, nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("scopes", String(200), nullable=True),
)

usage = Table(
    "usage",
    metadata,
    Column("subscription_id", String(64), nullable=False),
    Column("day", String(10), nullable=False),
    Column("calls", Integer, nullable=False, default=0),
    Column("entities", Integer, nullable=False, default=0),
    Column("bytes", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("subscription_id", "day"),
)

bills = Table(
    "bills",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subscription_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("organization_id", String(64), nullable=False),
    Column("plan_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("calls", Integer, nullable=False),
    Column("billable_calls", Integer, nullable=False),
    Column("entities", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("usage_yen", Integer, nullable=False),
    Column("fee_yen", Integer, nullable=False),
    Column("amount_yen", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("subscription_id", "month"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("organization_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("gross_yen", Integer, nullable=False),
    Column("commission_rate", String(20), nullable=False),
    Column("platform_yen", Integer, nullable=False),
    Column("provider_yen", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("organization_id", "month"),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("action", String(60), nullable=False),
    Column("actor_id", String(64), nullable=True),
    Column("buyer_id", String(64), nullable=True),
    Column("organization_id", String(64), nullable=True),
    Column("target", String(200), nullable=False),
    Column("detail", JSON, nullable=False),
)

# Listing review, buyer verification and subscription decisions (ADR 0141): new tables, so
# existing data directories gain them with ``create_all`` and need no migration.
product_listings = Table(
    "product_listings",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),  # review | listed | rejected | sandbox
    Column("reason", Text, nullable=False, default=""),
    Column("requested_at", String(40), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(40), nullable=True),
)

verification_requests = Table(
    "verification_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("contact", String(320), nullable=False),
    Column("intended_use", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | approved | rejected
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", String(40), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(40), nullable=True),
)

subscription_decisions = Table(
    "subscription_decisions",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("decision", String(20), nullable=False),  # rejected
    Column("reason", Text, nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(40), nullable=False),
)

_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the nullable columns of :data:`metadata` that an existing database lacks.

    ``create_all`` creates missing tables but never alters existing ones; a database made
    by an older version gets its new (nullable) columns here. Returns ``table.column`` of
    each column added.
    """
    added = []
    existing_tables = set(inspect(engine).get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        have = {c["name"] for c in inspect(engine).get_columns(table.name)}
        for column in table.columns:
            if column.name in have or not column.nullable:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


def open_engine(url_or_path: str | Path) -> Engine:
    """Return an engine with every exchange table created.

    Parameters
    ----------
    url_or_path
        A SQLAlchemy URL (``postgresql+psycopg://...``) or a path to a SQLite file.
    """
    url = str(url_or_path)
    if "://" not in url:
        if url != ":memory:":
            private_file(url)  # 0600, so SQLite's -wal and -shm files are 0600 too
        url = f"sqlite:///{url}"
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    add_missing_columns(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for statement in _APPEND_ONLY:
                conn.execute(text(statement))
    return engine
