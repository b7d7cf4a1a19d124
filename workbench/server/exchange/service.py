"""The exchange's business layer, free of HTTP: the API, the portal, the CLI and the data
seeder all go through :class:`ExchangeService`.

Examples
--------
>>> svc = ExchangeService.open(".workbench")                    # doctest: +SKIP
>>> org = svc.create_organization("Sapporo City")               # doctest: +SKIP
>>> svc.create_product(id="wards", organization_id=org, ...)    # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, and_, insert, or_, select, update

from workbench.server._files import private_dir
from workbench.server.upstream import UpstreamPolicy, UpstreamRefused, broker_client

from . import db
from .billing import bill_lines, split_revenue
from .errors import BadGateway, Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from .metering import Meter
from .quality import compute_quality
from .scopes import effective_scopes, format_scopes, grant_scopes, parse_scopes, role_scopes
from .security import (
    SecretHasher,
    hash_password,
    new_id,
    new_secret,
    password_problem,
    verify_password,
)
from .throttle import LoginThrottle
from .trust import TrustMixin

ROLES = ("buyer", "provider", "admin", "public")
PLAN_KINDS = ("free", "metered", "monthly")
ORG_KINDS = ("provider", "buyer", "platform", "sandbox")
SUBSCRIPTION_STATES = ("pending", "active", "suspended", "cancelled", "rejected")
_SERVICE_RE = re.compile(r"^[a-z0-9_]{1,50}$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL_RE = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,253}\.[^@\s\x00-\x1f\x7f.]{1,63}$"
)
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DUMMY_HASH = hash_password("not-a-real-password")
API_KEY_PREFIX = "wbk"
TOKEN_PREFIX = "wbt"
CLIENT_SECRET_PREFIX = "wbs"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime | None = None) -> str:
    return (dt or _now()).isoformat(timespec="seconds")


def _month_of(iso: str) -> str:
    return iso[:7]


def _months_between(first: str, last: str) -> list[str]:
    """``YYYY-MM`` months from ``first`` to ``last`` inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) < 1200:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account behind a credential or token."""

    account_id: str
    role: str
    organization_id: str | None
    credential_id: str | None
    via: str  # "api_key", "token", "login"
    scopes: frozenset[str] = frozenset()  # what this credential may do (scopes.py)


@dataclass(frozen=True)
class Entitlement:
    """An active subscription that lets an account call one product's tenant."""

    subscription_id: str
    product_id: str
    plan_id: str
    rate_limit_per_s: int | None
    monthly_quota: int | None


class ExchangeService(TrustMixin):
    """Catalog, accounts, terms, plans, subscriptions, credentials, usage, bills and audit.

    Use :meth:`open` to get one for a data directory. All methods are thread-safe.

    Parameters
    ----------
    engine
        The exchange database.
    data_dir
        Where ``exchange.db``, ``broker.db`` and ``secret.key`` live.
    commission
        The platform's share of revenue, between 0 and 1 (default 0.10).
    token_ttl_s
        Lifetime of OAuth access tokens and log-in tokens.
    upstream_policy
        The operator's allow-list of upstream brokers (default: ``WORKBENCH_ALLOW_UPSTREAM``,
        see :mod:`workbench.server.upstream`).
    """

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        *,
        commission: Decimal | str | float = "0.10",
        token_ttl_s: int = 3600,
        cache_ttl_s: float = 5.0,
        upstream_policy: UpstreamPolicy | None = None,
        login_throttle: LoginThrottle | None = None,
    ) -> None:
        self.engine = engine
        self.upstream_policy = upstream_policy or UpstreamPolicy.from_env()
        self.data_dir = Path(data_dir)
        self.commission = Decimal(str(commission))
        split_revenue(0, self.commission)  # validates
        self.token_ttl_s = token_ttl_s
        self.cache_ttl_s = cache_ttl_s
        self._hash = SecretHasher.from_data_dir(self.data_dir)
        self.meter = Meter(engine)
        self._cache_lock = threading.Lock()
        self._principals: dict[str, tuple[float, Principal]] = {}
        self._entitlements: dict[tuple[str, str], tuple[float, Entitlement | None]] = {}
        self._services: dict[str, tuple[float, dict | None]] = {}
        self._broker = None
        self._broker_app = None
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.login_throttle = login_throttle or LoginThrottle()
        self._issued = 0

    # ------------------------------------------------------------------ setup
    @classmethod
    def open(
        cls, data_dir: str | Path, *, commission: Decimal | str | float = "0.10", **options: Any
    ) -> ExchangeService:
        """Open (creating if needed) the exchange stored under ``data_dir``.

        Parameters
        ----------
        data_dir
            Directory holding ``exchange.db`` (accounts, catalog, billing), ``broker.db``
            (the embedded broker's entities) and ``secret.key``.
        commission
            Platform commission rate used for settlements.
        """
        data_dir = private_dir(data_dir)  # 0700, existing files 0600
        engine = db.open_engine(data_dir / "exchange.db")
        return cls(engine, data_dir, commission=commission, **options)

    @property
    def broker(self):
        """The embedded :class:`workbench.server.broker.Broker` (for bulk loads)."""
        if self._broker is None:
            from workbench.server.broker import Broker, open_store

            self._broker = Broker(open_store(self.data_dir / "broker.db"))
        return self._broker

    @property
    def broker_app(self):
        """The embedded broker's ASGI app (``/version``, ``/v2``, ``/ql/v2``)."""
        if self._broker_app is None:
            from workbench.server.broker import create_broker_app

            self._broker_app = create_broker_app(self.broker)
        return self._broker_app

    def backend(self, product: dict) -> httpx.AsyncClient:
        """Return the HTTP client that reaches ``product``'s broker.

        The embedded broker is reached in-process through :class:`httpx.ASGITransport`; a
        product with ``upstream_url`` is reached over the network through the operator's
        allow-list (:func:`workbench.server.upstream.broker_client`).
        """
        key = product.get("upstream_url") or ""
        client = self._clients.get(key)
        if client is None:
            client = broker_client(
                product, broker_app=self.broker_app, policy=self.upstream_policy
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        """Close network clients and stop the usage ledger's writer."""
        self.meter.close()
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def close(self) -> None:
        """Stop the usage ledger's writer and release the database (synchronous callers)."""
        self.meter.close()
        self.engine.dispose()

    # --------------------------------------------------------------- helpers
    def _audit(
        self,
        conn,
        action: str,
        target: str,
        *,
        actor_id: str | None = None,
        buyer_id: str | None = None,
        organization_id: str | None = None,
        **detail: Any,
    ) -> None:
        conn.execute(
            insert(db.audit).values(
                at=_iso(),
                action=action,
                actor_id=actor_id,
                buyer_id=buyer_id,
                organization_id=organization_id,
                target=target,
                detail=detail,
            )
        )

    def sign(self, text: str) -> str:
        """Return the keyed hash (HMAC-SHA256 under ``secret.key``) of ``text``, e.g. to
        derive CSRF tokens that only this installation can make."""
        return self._hash(text)

    def _row(self, table, **where: Any) -> dict | None:
        cond = and_(*(table.c[k] == v for k, v in where.items()))
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(cond)).mappings().first()
        return dict(row) if row else None

    def _must(self, table, what: str, **where: Any) -> dict:
        row = self._row(table, **where)
        if row is None:
            key = ", ".join(f"{k}={v!r}" for k, v in where.items())
            raise NotFound(f"No {what} with {key}.")
        return row

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._principals.clear()
            self._entitlements.clear()
            self._services.clear()

    # --------------------------------------------------------- organizations
    def create_organization(
        self, name: str, *, kind: str = "provider", description: str = ""
    ) -> str:
        """Create an organisation (a data provider, or a buyer's institution); return its id.

        Raises
        ------
        InvalidInput
            If ``kind`` is not one of ``provider``, ``buyer``, ``platform``.
        Conflict
            If the name is taken.
        """
        if kind not in ORG_KINDS:
            raise InvalidInput(f"kind must be one of {ORG_KINDS}, got {kind!r}.")
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1 to 200 characters.")
        if self._row(db.organizations, name=name):
            raise Conflict(f"An organisation named {name!r} already exists.")
        org_id = new_id("org")
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.organizations).values(
                    id=org_id, name=name, kind=kind, description=description, created_at=_iso()
                )
            )
        return org_id

    def organization(self, organization_id: str) -> dict:
        """Return one organisation."""
        return self._must(db.organizations, "organisation", id=organization_id)

    def list_organizations(self) -> list[dict]:
        """Return every organisation."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.organizations).order_by(db.organizations.c.name))
            return [dict(r) for r in rows.mappings()]

    # -------------------------------------------------------------- accounts
    def create_account(
        self,
        email: str,
        password: str,
        *,
        name: str,
        role: str,
        organization_id: str | None = None,
        verified: bool = True,
    ) -> str:
        """Create an account; return its id. The password is stored as an argon2id hash.

        Parameters
        ----------
        role
            ``buyer``, ``provider`` (needs ``organization_id``), ``admin`` or ``public``.
        verified
            Whether the account's identity was checked (needed for restricted products).
        """
        email = (email or "").strip().lower()
        if not _EMAIL_RE.match(email):
            raise InvalidInput(f"{email!r} is not an e-mail address.")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {ROLES}, got {role!r}.")
        problem = password_problem(password, email=email, name=name)
        if problem:
            raise InvalidInput(problem)
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1 to 200 characters.")
        if role == "provider" and not organization_id:
            raise InvalidInput("a provider account needs an organization_id.")
        if organization_id:
            self.organization(organization_id)
        if self._row(db.accounts, email=email):
            raise Conflict(f"An account with e-mail {email!r} already exists; log in instead.")
        account_id = new_id("acc")
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.accounts).values(
                    id=account_id,
                    email=email,
                    password_hash=hash_password(password),
                    name=name,
                    role=role,
                    organization_id=organization_id,
                    verified=bool(verified),
                    created_at=_iso(),
                )
            )
            self._audit(
                conn,
                "account.created",
                account_id,
                actor_id=account_id,
                organization_id=organization_id,
                role=role,
            )
        return account_id

    def account(self, account_id: str) -> dict:
        """Return an account without its password hash."""
        row = self._must(db.accounts, "account", id=account_id)
        row.pop("password_hash")
        return row

    def verify_account(self, account_id: str, *, by_account_id: str | None) -> None:
        """Mark an account verified (admins only; ``None`` is the local administrator
        using ``workbench users verify``)."""
        if by_account_id is not None:
            self._require_role(by_account_id, "admin")
        self.account(account_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(db.accounts).where(db.accounts.c.id == account_id).values(verified=True)
            )
            self._audit(
                conn, "account.verified", account_id, actor_id=by_account_id, buyer_id=account_id
            )
        self._invalidate()

    def account_id_for_email(self, email: str) -> str | None:
        """Return the id of the account with ``email``, or None."""
        row = self._row(db.accounts, email=(email or "").strip().lower())
        return row["id"] if row else None

    def _require_role(self, account_id: str, *roles: str) -> dict:
        account = self.account(account_id)
        if account["role"] not in roles:
            raise Forbidden(f"This needs a {' or '.join(roles)} account.")
        return account

    def authenticate_password(self, email: str, password: str, *, client: str = "local") -> str:
        """Return the account id for ``email`` and ``password``.

        Attempts are throttled per (e-mail, client) and per client before the password is
        checked (:class:`~workbench.server.exchange.throttle.LoginThrottle`); unknown
        e-mails are throttled and timed like known ones.

        Parameters
        ----------
        client
            Who is trying (the peer address for HTTP callers).

        Raises
        ------
        Unauthorized
            If either is wrong (the error does not say which).
        TooManyAttempts
            Too many recent failures from this client (for this account or overall).
        """
        key = (email or "").strip().lower()[:320]
        attempt = self.login_throttle.begin(key, client)
        ok = False
        try:
            row = self._row(db.accounts, email=key)
            # verify against a dummy hash for unknown e-mails, so timing does not reveal them
            ok = verify_password(row["password_hash"] if row else _DUMMY_HASH, password or "")
            ok = ok and row is not None
        finally:
            if ok:
                self.login_throttle.succeeded(attempt)
            else:
                self.login_throttle.failed(attempt)
        if not ok:
            raise Unauthorized("Wrong e-mail or password.")
        return row["id"]

    # -------------------------------------------------------------- products
    def create_product(
        self,
        *,
        id: str,
        organization_id: str,
        title: str,
        description: str,
        service: str,
        entity_types: list[str],
        licence: str,
        attribution: str,
        update_frequency: str,
        restricted: bool = False,
        synthetic: bool = False,
        documentation: str = "",
        tutorial: str = "",
        upstream_url: str | None = None,
        preview_size: int = 10,
        by_account_id: str | None = None,
    ) -> str:
        """Create an API product: one NGSI tenant (``service``) on the embedded broker, or on
        the Orion-compatible broker at ``upstream_url``. Return its id.

        Parameters
        ----------
        id
            Short stable identifier (letters, digits, ``_.-``), used in URLs.
        service
            The ``Fiware-Service`` of the product (Orion's rules: lower-case letters, digits,
            underscore; at most 50 characters).
        restricted
            Subscriptions need the provider's approval and a verified buyer.
        synthetic
            The data are generated, not observed; shown everywhere the product appears.
        preview_size
            How many entities the free preview shows.
        upstream_url
            The provider's own broker; its host must pass the operator's allow-list
            (:mod:`workbench.server.upstream`).
        by_account_id
            The account asking (API and portal); ``None`` is the operator (seed, CLI). An
            ``upstream_url`` needs a verified account.
        """
        if not _ID_RE.match(id or ""):
            raise InvalidInput(f"product id {id!r} must be 1-64 letters, digits or '_.-'.")
        if not _SERVICE_RE.match(service or ""):
            raise InvalidInput(
                f"service {service!r} must be 1-50 lower-case letters, digits or underscores."
            )
        org = self.organization(organization_id)
        if self._row(db.products, id=id):
            raise Conflict(f"A product with id {id!r} already exists.")
        if self._row(db.products, service=service):
            raise Conflict(f"Another product already uses Fiware-Service {service!r}.")
        if upstream_url:
            if by_account_id is not None and not self.account(by_account_id)["verified"]:
                raise Forbidden(
                    "Only verified providers may put a product on their own broker "
                    "(upstream_url); ask an admin to verify the account."
                )
            try:
                upstream_url = self.upstream_policy.check_url(upstream_url)
            except UpstreamRefused as exc:
                raise InvalidInput(str(exc)) from None
        upstream_url = upstream_url or None
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.products).values(
                    id=id,
                    organization_id=organization_id,
                    title=title,
                    description=description,
                    service=service,
                    entity_types=list(entity_types),
                    licence=licence,
                    attribution=attribution,
                    update_frequency=update_frequency,
                    restricted=bool(restricted),
                    synthetic=bool(synthetic),
                    documentation=documentation,
                    tutorial=tutorial,
                    upstream_url=upstream_url,
                    preview_size=int(preview_size),
                    quality=None,
                    created_at=_iso(),
                )
            )
            self._audit(conn, "product.created", id, organization_id=org["id"], service=service)
        self._invalidate()
        return id

    def product(self, product_id: str) -> dict:
        """Return a product row (with ``provider`` name, current ``terms`` and ``plans``)."""
        row = self._must(db.products, "product", id=product_id)
        return self._decorate(row)

    def _decorate(self, row: dict) -> dict:
        org = self._row(db.organizations, id=row["organization_id"]) or {}
        row["provider"] = org.get("name", "")
        row["plans"] = self.plans(row["id"])
        row["terms"] = self.current_terms(row["id"])
        row["quality"] = row.get("quality") or {
            "entity_count": None,
            "completeness": None,
            "freshness": {"latest": None, "age_hours": None},
        }
        return row

    def list_products(
        self,
        q: str | None = None,
        *,
        organization_id: str | None = None,
        include_unlisted: bool = False,
    ) -> list[dict]:
        """Return products, optionally only those matching every word of ``q``.

        Products in review, rejected or in a workshop sandbox are left out unless
        ``include_unlisted`` (or ``organization_id``, the provider's own view) is given.
        """
        with self.engine.connect() as conn:
            stmt = select(db.products).order_by(db.products.c.id)
            if organization_id:
                stmt = stmt.where(db.products.c.organization_id == organization_id)
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if not (include_unlisted or organization_id):
            hidden = self.unlisted_product_ids()
            rows = [r for r in rows if r["id"] not in hidden]
        out = [self._decorate(r) for r in rows]
        if q:
            words = q.lower().split()

            def text(p: dict) -> str:
                return " ".join(
                    str(p[k])
                    for k in (
                        "id",
                        "title",
                        "description",
                        "provider",
                        "service",
                        "entity_types",
                        "licence",
                    )
                ).lower()

            out = [p for p in out if all(w in text(p) for w in words)]
        return out

    def product_for_service(self, service: str) -> dict | None:
        """Return the product whose ``Fiware-Service`` is ``service`` (cached), or None."""
        now = time.monotonic()
        with self._cache_lock:
            hit = self._services.get(service)
        if hit and hit[0] > now:
            return hit[1]
        row = self._row(db.products, service=service)
        with self._cache_lock:
            if len(self._services) > 10_000:
                self._services.clear()
            self._services[service] = (now + self.cache_ttl_s, row)
        return row

    # ----------------------------------------------------------------- plans
    def create_plan(
        self,
        product_id: str,
        *,
        id: str,
        name: str,
        kind: str,
        price_per_1000_calls: int = 0,
        monthly_fee: int = 0,
        monthly_quota: int | None = None,
        rate_limit_per_s: int | None = None,
        trial_days: int = 0,
        requires_approval: bool = False,
    ) -> str:
        """Add a plan to a product; return the plan id (unique within the product).

        Parameters
        ----------
        kind
            ``free``, ``metered`` (``price_per_1000_calls`` yen) or ``monthly``
            (``monthly_fee`` yen).
        monthly_quota
            Calls per calendar month (UTC), None for unlimited.
        rate_limit_per_s
            Calls per second, None for unlimited.
        trial_days
            Calls and fees in the first ``trial_days`` days are free.
        """
        self._must(db.products, "product", id=product_id)
        if not _ID_RE.match(id or ""):
            raise InvalidInput(f"plan id {id!r} must be 1-64 letters, digits or '_.-'.")
        if kind not in PLAN_KINDS:
            raise InvalidInput(f"kind must be one of {PLAN_KINDS}, got {kind!r}.")
        for label, value in (
            ("price_per_1000_calls", price_per_1000_calls),
            ("monthly_fee", monthly_fee),
            ("trial_days", trial_days),
        ):
            if not isinstance(value, int) or value < 0:
                raise InvalidInput(f"{label} must be a non-negative integer (yen/days).")
        for label, value in (
            ("monthly_quota", monthly_quota),
            ("rate_limit_per_s", rate_limit_per_s),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InvalidInput(f"{label} must be a positive integer or None.")
        if self._row(db.plans, product_id=product_id, id=id):
            raise Conflict(f"Product {product_id!r} already has a plan {id!r}.")
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.plans).values(
                    product_id=product_id,
                    id=id,
                    name=name,
                    kind=kind,
                    price_per_1000_calls=price_per_1000_calls,
                    monthly_fee=monthly_fee,
                    monthly_quota=monthly_quota,
                    rate_limit_per_s=rate_limit_per_s,
                    trial_days=trial_days,
                    requires_approval=bool(requires_approval),
                )
            )
        return id

    def plans(self, product_id: str) -> list[dict]:
        """Return a product's plans."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.plans).where(db.plans.c.product_id == product_id).order_by(db.plans.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    # ----------------------------------------------------------------- terms
    def publish_terms(
        self,
        product_id: str,
        *,
        version: str,
        text: str,
        permitted_purposes: list[str],
        prohibitions: list[str],
    ) -> None:
        """Publish a new version of a product's terms; it becomes the current version.

        New subscriptions must accept the current version; existing ones keep the version
        they accepted (recorded on the subscription).
        """
        product = self._must(db.products, "product", id=product_id)
        if not version or len(version) > 40:
            raise InvalidInput("version must be 1 to 40 characters.")
        if self._row(db.terms, product_id=product_id, version=version):
            raise Conflict(f"Terms version {version!r} of {product_id!r} already exist.")
        current = self.current_terms(product_id)
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.terms).values(
                    product_id=product_id,
                    version=version,
                    text=text,
                    permitted_purposes=list(permitted_purposes),
                    prohibitions=list(prohibitions),
                    seq=(current["seq"] + 1) if current else 1,
                    published_at=_iso(),
                )
            )
            self._audit(
                conn,
                "terms.published",
                f"{product_id}@{version}",
                organization_id=product["organization_id"],
            )

    def current_terms(self, product_id: str) -> dict | None:
        """Return the current terms of a product, or None if none were published."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(db.terms)
                    .where(db.terms.c.product_id == product_id)
                    .order_by(db.terms.c.seq.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    # --------------------------------------------------------- subscriptions
    def subscribe(
        self, account_id: str, product_id: str, plan_id: str, *, purpose: str, terms_version: str
    ) -> str:
        """Subscribe an account to a product's plan; return the subscription id.

        The buyer declares a ``purpose`` and accepts ``terms_version``, which must be the
        product's current terms. Restricted products and plans that require approval start
        ``pending`` until the provider approves; the others start ``active``.

        Raises
        ------
        InvalidInput
            Missing purpose, or terms that are not the current version.
        Forbidden
            An unverified account asking for a restricted product.
        Conflict
            The account already has a pending or active subscription to the product.
        """
        account = self.account(account_id)
        product = self._must(db.products, "product", id=product_id)
        plan = self._must(db.plans, "plan", product_id=product_id, id=plan_id)
        purpose = (purpose or "").strip()
        if len(purpose) < 3 or len(purpose) > 2000:
            raise InvalidInput("Declare the purpose of use (3 to 2000 characters).")
        terms = self.current_terms(product_id)
        if terms is None:
            raise Conflict(f"Product {product_id!r} has no published terms yet.")
        if terms_version != terms["version"]:
            raise InvalidInput(
                f"Accept the current terms version {terms['version']!r} "
                f"(you sent {terms_version!r}); read them at /api/products/{product_id}/terms."
            )
        if self.listing(product_id)["status"] != "listed":
            raise NotFound(f"No product {product_id!r} is open for subscription.")
        if product["restricted"] and not account["verified"]:
            raise Forbidden(
                "Restricted products need a verified account: request verification (your "
                "organisation, a contact and the intended use) at /verification or with "
                "POST /api/verification-requests; an admin reviews it."
            )
        if account["role"] == "public" and (product["restricted"] or plan["kind"] != "free"):
            raise Forbidden(
                "The public (dashboards) account reads open products on free plans only."
            )
        with self.engine.connect() as conn:
            live = conn.execute(
                select(db.subscriptions.c.id).where(
                    db.subscriptions.c.account_id == account_id,
                    db.subscriptions.c.product_id == product_id,
                    db.subscriptions.c.status.in_(("pending", "active")),
                )
            ).first()
        if live:
            raise Conflict(
                f"You already have subscription {live[0]} to {product_id!r}; cancel it first."
            )
        pending = bool(product["restricted"] or plan["requires_approval"])
        sub_id = new_id("sub")
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.subscriptions).values(
                    id=sub_id,
                    account_id=account_id,
                    product_id=product_id,
                    plan_id=plan_id,
                    purpose=purpose,
                    terms_version=terms_version,
                    status="pending" if pending else "active",
                    created_at=_iso(now),
                    approved_at=None if pending else _iso(now),
                    trial_ends_at=(
                        None
                        if pending or not plan["trial_days"]
                        else _iso(now + timedelta(days=plan["trial_days"]))
                    ),
                )
            )
            self._audit(
                conn,
                "terms.accepted",
                sub_id,
                actor_id=account_id,
                buyer_id=account_id,
                organization_id=product["organization_id"],
                product_id=product_id,
                plan_id=plan_id,
                terms_version=terms_version,
                purpose=purpose,
            )
            self._audit(
                conn,
                "subscription.requested" if pending else "subscription.activated",
                sub_id,
                actor_id=account_id,
                buyer_id=account_id,
                organization_id=product["organization_id"],
                product_id=product_id,
                plan_id=plan_id,
            )
        self._invalidate()
        return sub_id

    def subscription(self, subscription_id: str) -> dict:
        """Return one subscription."""
        return self._must(db.subscriptions, "subscription", id=subscription_id)

    def list_subscriptions(
        self, *, account_id: str | None = None, organization_id: str | None = None
    ) -> list[dict]:
        """Return subscriptions of a buyer, or to the products of a provider organisation."""
        stmt = select(db.subscriptions).order_by(db.subscriptions.c.created_at)
        if account_id:
            stmt = stmt.where(db.subscriptions.c.account_id == account_id)
        if organization_id:
            owned = select(db.products.c.id).where(db.products.c.organization_id == organization_id)
            stmt = stmt.where(db.subscriptions.c.product_id.in_(owned))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def _authorise_provider(self, subscription: dict, account_id: str) -> tuple[dict, dict]:
        actor = self.account(account_id)
        product = self._must(db.products, "product", id=subscription["product_id"])
        if actor["role"] != "admin" and (
            actor["role"] != "provider" or actor["organization_id"] != product["organization_id"]
        ):
            raise Forbidden("Only the product's provider (or an admin) can do this.")
        return actor, product

    def approve_subscription(self, subscription_id: str, *, by_account_id: str) -> None:
        """Approve a pending subscription (the product's provider or an admin)."""
        sub = self.subscription(subscription_id)
        _, product = self._authorise_provider(sub, by_account_id)
        if sub["status"] != "pending":
            raise Conflict(f"Subscription {subscription_id} is {sub['status']}, not pending.")
        plan = self._must(db.plans, "plan", product_id=sub["product_id"], id=sub["plan_id"])
        now = _now()
        trial_end = _iso(now + timedelta(days=plan["trial_days"])) if plan["trial_days"] else None
        with self.engine.begin() as conn:
            conn.execute(
                update(db.subscriptions)
                .where(db.subscriptions.c.id == subscription_id)
                .values(
                    status="active",
                    approved_at=_iso(now),
                    approved_by=by_account_id,
                    trial_ends_at=trial_end,
                )
            )
            self._audit(
                conn,
                "subscription.approved",
                subscription_id,
                actor_id=by_account_id,
                buyer_id=sub["account_id"],
                organization_id=product["organization_id"],
                product_id=product["id"],
            )
        self._invalidate()

    def _set_status(self, subscription_id: str, status: str, by_account_id: str) -> None:
        sub = self.subscription(subscription_id)
        if by_account_id != sub["account_id"] or status == "suspended":
            self._authorise_provider(sub, by_account_id)
        if sub["status"] == "cancelled":
            raise Conflict(f"Subscription {subscription_id} is already cancelled.")
        product = self._must(db.products, "product", id=sub["product_id"])
        with self.engine.begin() as conn:
            conn.execute(
                update(db.subscriptions)
                .where(db.subscriptions.c.id == subscription_id)
                .values(status=status, ended_at=_iso())
            )
            self._audit(
                conn,
                f"subscription.{status}",
                subscription_id,
                actor_id=by_account_id,
                buyer_id=sub["account_id"],
                organization_id=product["organization_id"],
            )
        self._invalidate()

    def cancel_subscription(self, subscription_id: str, *, by_account_id: str) -> None:
        """Cancel a subscription (its buyer, the provider or an admin)."""
        self._set_status(subscription_id, "cancelled", by_account_id)

    def suspend_subscription(self, subscription_id: str, *, by_account_id: str) -> None:
        """Suspend a subscription (the provider or an admin), e.g. for a breach of terms."""
        self._set_status(subscription_id, "suspended", by_account_id)

    # ----------------------------------------------------------- credentials
    def issue_api_key(
        self, account_id: str, *, label: str, scopes: str | list[str] | None = None
    ) -> tuple[str, str]:
        """Issue an API key for the ``X-API-Key`` header; return ``(credential_id, key)``.

        The key is shown only here; the exchange keeps only its keyed hash.

        Parameters
        ----------
        scopes
            What the key may do (``data:read``, ``data:write``, ``account:read``,
            ``account:manage``; a list or a space-separated string). Default: everything the
            account's role allows. A read-only key for a notebook or dashboard is
            ``scopes=["data:read"]``.

        Raises
        ------
        InvalidInput
            An unknown scope or one the account's role may not hold.
        """
        account = self.account(account_id)
        granted = grant_scopes(account["role"], scopes)
        key = new_secret(API_KEY_PREFIX)
        cred_id = new_id("cred")
        self._store_credential(account, cred_id, "api_key", label, None, key, granted)
        return cred_id, key

    def issue_oauth_client(
        self, account_id: str, *, label: str, scopes: str | list[str] | None = None
    ) -> tuple[str, str]:
        """Issue an OAuth 2.0 client (client-credentials grant); return
        ``(client_id, client_secret)``. The secret is shown only here.

        ``scopes`` is the most its tokens may hold (default: everything the role allows);
        a token request may ask for fewer (RFC 6749 ``scope``).
        """
        account = self.account(account_id)
        granted = grant_scopes(account["role"], scopes)
        client_id = new_id("wbc")
        secret = new_secret(CLIENT_SECRET_PREFIX)
        self._store_credential(
            account, new_id("cred"), "oauth_client", label, client_id, secret, granted
        )
        return client_id, secret

    def _store_credential(
        self,
        account: dict,
        cred_id: str,
        kind: str,
        label: str,
        client_id: str | None,
        secret: str,
        scopes: frozenset[str],
    ) -> None:
        label = (label or kind)[:200]
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.credentials).values(
                    id=cred_id,
                    account_id=account["id"],
                    kind=kind,
                    label=label,
                    client_id=client_id,
                    secret_hash=self._hash(secret),
                    hint=secret[:4] + "…" + secret[-4:],
                    created_at=_iso(),
                    scopes=format_scopes(scopes),
                )
            )
            self._audit(
                conn,
                "credential.issued",
                cred_id,
                actor_id=account["id"],
                buyer_id=account["id"],
                organization_id=account["organization_id"],
                kind=kind,
                label=label,
                client_id=client_id,
                scopes=format_scopes(scopes),
            )

    def list_credentials(self, account_id: str) -> list[dict]:
        """Return an account's credentials (never their secrets)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.credentials)
                .where(db.credentials.c.account_id == account_id)
                .order_by(db.credentials.c.created_at)
            )
            out = [dict(r) for r in rows.mappings()]
        role = self.account(account_id)["role"]
        for row in out:
            row.pop("secret_hash")
            row["scopes"] = sorted(effective_scopes(role, row["scopes"]))
        return out

    def credential_id_for_client(self, client_id: str) -> str | None:
        row = self._row(db.credentials, client_id=client_id)
        return row["id"] if row else None

    def revoke_credential(self, credential_id: str, *, by_account_id: str) -> None:
        """Revoke a credential and every token issued with it (its owner or an admin)."""
        cred = self._row(db.credentials, id=credential_id)
        actor = self.account(by_account_id)
        if cred is None or (cred["account_id"] != by_account_id and actor["role"] != "admin"):
            raise NotFound(f"No credential {credential_id!r} of yours.")
        if cred["revoked_at"]:
            return
        now = _iso()
        with self.engine.begin() as conn:
            conn.execute(
                update(db.credentials)
                .where(db.credentials.c.id == credential_id)
                .values(revoked_at=now)
            )
            conn.execute(
                update(db.tokens)
                .where(db.tokens.c.credential_id == credential_id, db.tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            self._audit(
                conn,
                "credential.revoked",
                credential_id,
                actor_id=by_account_id,
                buyer_id=cred["account_id"],
                kind=cred["kind"],
            )
        self._invalidate()

    # ---------------------------------------------------------------- tokens
    def authenticate_client(self, client_id: str, client_secret: str) -> Principal | None:
        """Return the account behind OAuth client credentials, or None if they are wrong."""
        cred = self._row(db.credentials, client_id=client_id or "")
        if (
            cred is None
            or cred["kind"] != "oauth_client"
            or cred["revoked_at"]
            or cred["secret_hash"] != self._hash(client_secret or "")
        ):
            return None
        account = self._row(db.accounts, id=cred["account_id"])
        if account is None:
            return None
        return Principal(
            account["id"],
            account["role"],
            account["organization_id"],
            cred["id"],
            "client",
            effective_scopes(account["role"], cred["scopes"]),
        )

    def issue_token(
        self, client_id: str, client_secret: str, *, scope: str | None = None
    ) -> tuple[str, int]:
        """Exchange OAuth client credentials for a bearer token; return ``(token, expires_in)``.

        ``scope`` (RFC 6749 §3.3, space-separated) narrows the token to fewer scopes than
        the client holds; without it the token gets all of the client's. The granted
        scopes are :meth:`scopes_of` of the token.

        Raises
        ------
        Unauthorized
            Unknown client, wrong secret, or revoked client.
        InvalidInput
            ``scope`` names an unknown scope or one the client does not hold.
        """
        client = self.authenticate_client(client_id, client_secret)
        if client is None:
            raise Unauthorized("Client authentication failed.")
        wanted = parse_scopes(scope) if scope and scope.strip() else None
        granted = client.scopes if wanted is None else wanted
        if not granted or not granted <= client.scopes:
            raise InvalidInput(
                f"This client may be granted {format_scopes(client.scopes) or 'no scope'}; "
                f"it asked for {scope!r}."
            )
        token = self._new_token(client.account_id, client.credential_id, "access", granted)
        return token, self.token_ttl_s

    def login_token(self, account_id: str) -> tuple[str, int]:
        """Return a short-lived token for the account itself (portal session, ``/api/login``),
        with every scope its role allows."""
        granted = role_scopes(self.account(account_id)["role"])
        return self._new_token(account_id, None, "login", granted), self.token_ttl_s

    def scopes_of(self, secret: str) -> frozenset[str]:
        """Return the scopes a token or API key grants now (empty when it is not valid)."""
        principal = self.authenticate(secret)
        return principal.scopes if principal else frozenset()

    def _new_token(
        self,
        account_id: str,
        credential_id: str | None,
        kind: str,
        scopes: frozenset[str] | None = None,
    ) -> str:
        token = new_secret(TOKEN_PREFIX)
        self._issued += 1
        with self.engine.begin() as conn:
            if self._issued % 500 == 1:  # forget tokens that expired more than a day ago
                conn.execute(
                    db.tokens.delete().where(db.tokens.c.expires_at < int(time.time()) - 86400)
                )
            conn.execute(
                insert(db.tokens).values(
                    token_hash=self._hash(token),
                    account_id=account_id,
                    credential_id=credential_id,
                    kind=kind,
                    created_at=_iso(),
                    expires_at=int(time.time()) + self.token_ttl_s,
                    scopes=None if scopes is None else format_scopes(scopes),
                )
            )
        return token

    def revoke_token(self, token: str, *, by_account_id: str | None = None) -> None:
        """Revoke an access or log-in token (RFC 7009: unknown tokens are ignored).

        With ``by_account_id``, only that account's tokens are revoked.
        """
        h = self._hash(token or "")
        cond = [db.tokens.c.token_hash == h, db.tokens.c.revoked_at.is_(None)]
        if by_account_id:
            cond.append(db.tokens.c.account_id == by_account_id)
        with self.engine.begin() as conn:
            done = conn.execute(update(db.tokens).where(*cond).values(revoked_at=_iso())).rowcount
            if done:
                self._audit(
                    conn, "token.revoked", h[:12], actor_id=by_account_id, buyer_id=by_account_id
                )
        self._invalidate()

    def introspect(self, token: str, *, by_account_id: str) -> dict:
        """RFC 7662 introspection of ``token`` for its owner (or an admin)."""
        row = self._row(db.tokens, token_hash=self._hash(token or ""))
        actor = self.account(by_account_id)
        if (
            row is None
            or row["revoked_at"]
            or row["expires_at"] <= time.time()
            or (row["account_id"] != by_account_id and actor["role"] != "admin")
        ):
            return {"active": False}
        cred = self._row(db.credentials, id=row["credential_id"]) if row["credential_id"] else None
        if cred and cred["revoked_at"]:
            return {"active": False}
        owner = self._row(db.accounts, id=row["account_id"]) or {"role": ""}
        return {
            "active": True,
            "token_type": "Bearer",
            "sub": row["account_id"],
            "client_id": cred["client_id"] if cred else None,
            "exp": row["expires_at"],
            "iat": row["expires_at"] - self.token_ttl_s,
            "scope": format_scopes(effective_scopes(owner["role"], row["scopes"])),
        }

    def authenticate(self, secret: str) -> Principal | None:
        """Return who holds ``secret`` (API key, access or log-in token), or None.

        Cached for ``cache_ttl_s`` seconds; revoking anything clears the cache, so a revoked
        credential is refused at once in this process.
        """
        if not secret or len(secret) > 200:
            return None
        now = time.monotonic()
        with self._cache_lock:
            hit = self._principals.get(secret)
        if hit and hit[0] > now:
            return hit[1]
        h = self._hash(secret)
        expires = now + self.cache_ttl_s
        with self.engine.connect() as conn:
            if secret.startswith(API_KEY_PREFIX + "_"):
                cred = (
                    conn.execute(
                        select(db.credentials).where(
                            db.credentials.c.secret_hash == h,
                            db.credentials.c.kind == "api_key",
                            db.credentials.c.revoked_at.is_(None),
                        )
                    )
                    .mappings()
                    .first()
                )
                if cred is None:
                    return None
                account_id, cred_id, via = cred["account_id"], cred["id"], "api_key"
                stored = cred["scopes"]
            else:
                tok = (
                    conn.execute(
                        select(db.tokens).where(
                            db.tokens.c.token_hash == h, db.tokens.c.revoked_at.is_(None)
                        )
                    )
                    .mappings()
                    .first()
                )
                left = (tok["expires_at"] - time.time()) if tok else 0
                if tok is None or left <= 0:
                    return None
                expires = min(expires, now + left)
                account_id, cred_id = tok["account_id"], tok["credential_id"]
                via = "login" if tok["kind"] == "login" else "token"
                stored = tok["scopes"]
            account = conn.execute(
                select(db.accounts.c.role, db.accounts.c.organization_id).where(
                    db.accounts.c.id == account_id
                )
            ).first()
        if account is None:
            return None
        scopes = effective_scopes(account[0], stored)
        principal = Principal(account_id, account[0], account[1], cred_id, via, scopes)
        with self._cache_lock:
            if len(self._principals) > 100_000:
                self._principals.clear()
            self._principals[secret] = (expires, principal)
        return principal

    def entitlement(self, account_id: str, product_id: str) -> Entitlement | None:
        """Return the account's active subscription to ``product_id`` (cached), or None."""
        key = (account_id, product_id)
        now = time.monotonic()
        with self._cache_lock:
            hit = self._entitlements.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    db.subscriptions.c.id,
                    db.subscriptions.c.plan_id,
                    db.plans.c.rate_limit_per_s,
                    db.plans.c.monthly_quota,
                )
                .join(
                    db.plans,
                    and_(
                        db.plans.c.product_id == db.subscriptions.c.product_id,
                        db.plans.c.id == db.subscriptions.c.plan_id,
                    ),
                )
                .where(
                    db.subscriptions.c.account_id == account_id,
                    db.subscriptions.c.product_id == product_id,
                    db.subscriptions.c.status == "active",
                )
            ).first()
        ent = Entitlement(row[0], product_id, row[1], row[2], row[3]) if row else None
        with self._cache_lock:
            self._entitlements[key] = (now + self.cache_ttl_s, ent)
        return ent

    def may_preview(self, product: dict, principal: Principal | None) -> bool:
        """Whether ``principal`` may see the product's preview rows.

        Open products have a public preview. Restricted products (individual-level data)
        show rows only to their provider, admins and buyers with an active subscription.
        """
        if not product["restricted"]:
            return True
        if principal is None:
            return False
        if principal.role == "admin" or principal.organization_id == product["organization_id"]:
            return True
        return self.entitlement(principal.account_id, product["id"]) is not None

    # ----------------------------------------------------------------- usage
    def usage(self, account_id: str, *, month: str | None = None) -> list[dict]:
        """Return the account's usage per subscription and month (calls, entities, bytes)."""
        if month is not None and not _MONTH_RE.match(month):
            raise InvalidInput(f"month must look like 2026-11, got {month!r}.")
        self.meter.flush()
        subs = {s["id"]: s for s in self.list_subscriptions(account_id=account_id)}
        return self._usage_rows(subs, month)

    def _usage_rows(self, subs: dict[str, dict], month: str | None) -> list[dict]:
        if not subs:
            return []
        stmt = select(db.usage).where(db.usage.c.subscription_id.in_(list(subs)))
        if month:
            stmt = stmt.where(db.usage.c.day.like(f"{month}-%"))
        totals: dict[tuple[str, str], dict] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(stmt).mappings():
                key = (r["subscription_id"], _month_of(r["day"]))
                sub = subs[r["subscription_id"]]
                row = totals.setdefault(
                    key,
                    {
                        "subscription_id": key[0],
                        "product_id": sub["product_id"],
                        "plan_id": sub["plan_id"],
                        "month": key[1],
                        "calls": 0,
                        "entities": 0,
                        "bytes": 0,
                    },
                )
                for k in ("calls", "entities", "bytes"):
                    row[k] += r[k]
        return sorted(totals.values(), key=lambda r: (r["month"], r["subscription_id"]))

    # ----------------------------------------------------------------- bills
    def _refresh_bills(self, subs: list[dict]) -> None:
        self.meter.flush()
        current = _now().strftime("%Y-%m")
        with self.engine.begin() as conn:
            for sub in subs:
                plan = (
                    conn.execute(
                        select(db.plans).where(
                            db.plans.c.product_id == sub["product_id"],
                            db.plans.c.id == sub["plan_id"],
                        )
                    )
                    .mappings()
                    .one()
                )
                product = conn.execute(
                    select(db.products.c.organization_id).where(
                        db.products.c.id == sub["product_id"]
                    )
                ).scalar_one()
                days = conn.execute(select(db.usage).where(db.usage.c.subscription_id == sub["id"]))
                per_month: dict[str, list[int]] = {}
                trial_end = (sub["trial_ends_at"] or "")[:10]
                for r in days.mappings():
                    m = per_month.setdefault(_month_of(r["day"]), [0, 0, 0, 0])
                    m[0] += r["calls"]
                    m[1] += r["entities"]
                    m[2] += r["bytes"]
                    if trial_end and r["day"] < trial_end:
                        m[3] += r["calls"]
                if plan["monthly_fee"] and sub["approved_at"]:
                    # the fee is due for every month the subscription was active in
                    last = (sub["ended_at"] or _iso())[:7] if sub["status"] != "active" else current
                    for month in _months_between(sub["approved_at"][:7], last):
                        per_month.setdefault(month, [0, 0, 0, 0])
                existing = {
                    r["month"]: r
                    for r in conn.execute(
                        select(db.bills).where(db.bills.c.subscription_id == sub["id"])
                    ).mappings()
                }
                for month, (calls, entities, nbytes, trial_calls) in per_month.items():
                    old = existing.get(month)
                    if old is not None and old["status"] == "final":
                        continue
                    waived = bool(trial_end) and f"{month}-01" < trial_end  # overlaps trial
                    lines = bill_lines(
                        calls=calls,
                        trial_calls=trial_calls,
                        price_per_1000_calls=plan["price_per_1000_calls"],
                        monthly_fee=plan["monthly_fee"],
                        fee_waived=waived,
                    )
                    status = "open" if month >= current else "final"
                    values = dict(
                        calls=calls,
                        billable_calls=lines.billable_calls,
                        entities=entities,
                        bytes=nbytes,
                        usage_yen=lines.usage_yen,
                        fee_yen=lines.fee_yen,
                        amount_yen=lines.amount_yen,
                        status=status,
                        updated_at=_iso(),
                    )
                    if old is None:
                        bill_id = new_id("bill")
                        conn.execute(
                            insert(db.bills).values(
                                id=bill_id,
                                subscription_id=sub["id"],
                                account_id=sub["account_id"],
                                product_id=sub["product_id"],
                                organization_id=product,
                                plan_id=sub["plan_id"],
                                month=month,
                                **values,
                            )
                        )
                    else:
                        bill_id = old["id"]
                        conn.execute(
                            update(db.bills).where(db.bills.c.id == bill_id).values(**values)
                        )
                    if status == "final":
                        self._audit(
                            conn,
                            "bill.issued",
                            bill_id,
                            buyer_id=sub["account_id"],
                            organization_id=product,
                            month=month,
                            amount_yen=lines.amount_yen,
                        )

    def bills(self, account_id: str) -> list[dict]:
        """Return the account's monthly bills, brought up to date with usage.

        The current month's bill is ``open`` (it grows with usage); earlier months are
        ``final``. Each bill has ``calls`` (equal to usage), ``billable_calls`` (outside the
        trial), ``usage_yen``, ``fee_yen`` and ``amount_yen``.
        """
        self._refresh_bills(self.list_subscriptions(account_id=account_id))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.bills)
                .where(db.bills.c.account_id == account_id)
                .order_by(db.bills.c.month, db.bills.c.subscription_id)
            )
            return [dict(r) for r in rows.mappings()]

    def provider_bills(self, organization_id: str) -> list[dict]:
        """Return the bills of every subscription to an organisation's products."""
        self._refresh_bills(self.list_subscriptions(organization_id=organization_id))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.bills)
                .where(db.bills.c.organization_id == organization_id)
                .order_by(db.bills.c.month, db.bills.c.product_id)
            )
            return [dict(r) for r in rows.mappings()]

    def settlements(self, organization_id: str) -> list[dict]:
        """Return a provider organisation's monthly settlements.

        ``gross_yen`` is the sum of its products' bills; ``platform_yen`` the commission
        (rounded half-up to the yen); ``provider_yen`` the rest, so the two always total the
        gross exactly.
        """
        gross: dict[str, int] = {}
        for bill in self.provider_bills(organization_id):
            gross[bill["month"]] = gross.get(bill["month"], 0) + bill["amount_yen"]
        current = _now().strftime("%Y-%m")
        with self.engine.begin() as conn:
            existing = {
                r["month"]: r
                for r in conn.execute(
                    select(db.settlements).where(
                        db.settlements.c.organization_id == organization_id
                    )
                ).mappings()
            }
            for month, amount in gross.items():
                old = existing.get(month)
                if old is not None and old["status"] == "final":
                    continue
                shares = split_revenue(amount, self.commission)
                status = "open" if month >= current else "final"
                values = dict(
                    gross_yen=shares.gross_yen,
                    commission_rate=str(shares.commission_rate),
                    platform_yen=shares.platform_yen,
                    provider_yen=shares.provider_yen,
                    status=status,
                    updated_at=_iso(),
                )
                if old is None:
                    sid = new_id("stl")
                    conn.execute(
                        insert(db.settlements).values(
                            id=sid, organization_id=organization_id, month=month, **values
                        )
                    )
                else:
                    sid = old["id"]
                    conn.execute(
                        update(db.settlements).where(db.settlements.c.id == sid).values(**values)
                    )
                if status == "final":
                    self._audit(
                        conn,
                        "settlement.issued",
                        sid,
                        organization_id=organization_id,
                        month=month,
                        gross_yen=shares.gross_yen,
                        provider_yen=shares.provider_yen,
                        platform_yen=shares.platform_yen,
                    )
            rows = conn.execute(
                select(db.settlements)
                .where(db.settlements.c.organization_id == organization_id)
                .order_by(db.settlements.c.month)
            )
            return [dict(r) for r in rows.mappings()]

    # ----------------------------------------------------------------- audit
    def audit_log(self, account_id: str, *, limit: int = 500) -> list[dict]:
        """Return the audit entries an account may read: its own, its buyer-side entries,
        and its organisation's (admins read everything). Newest first."""
        account = self.account(account_id)
        stmt = select(db.audit).order_by(db.audit.c.seq.desc()).limit(max(1, min(limit, 5000)))
        if account["role"] != "admin":
            cond = [db.audit.c.actor_id == account_id, db.audit.c.buyer_id == account_id]
            if account["organization_id"]:
                cond.append(db.audit.c.organization_id == account["organization_id"])
            stmt = stmt.where(or_(*cond))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    # --------------------------------------------------------------- quality
    async def fetch_entities(
        self,
        product: dict,
        *,
        limit: int,
        normalized: bool = False,
        client: httpx.AsyncClient | None = None,
    ) -> tuple[list[dict], int | None]:
        """Return up to ``limit`` entities of a product from its broker, and the total count."""
        params: dict[str, Any] = {"limit": max(1, min(limit, 1000)), "options": "count"}
        if not normalized:
            params["options"] = "count,keyValues"
        headers = {"Fiware-Service": product["service"]}
        out: list[dict] = []
        total: int | None = None
        offset = 0
        client = client or self.backend(product)
        while len(out) < limit:
            params["offset"] = offset
            try:
                resp = await client.get("/v2/entities", params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise BadGateway(f"The product's broker did not answer ({exc}).") from None
            if resp.status_code != 200:
                break
            try:  # an upstream broker may answer anything
                page = resp.json()
                if total is None and "fiware-total-count" in resp.headers:
                    total = int(resp.headers["fiware-total-count"])
            except ValueError:
                page = None
            if not isinstance(page, list) or not all(isinstance(e, dict) for e in page):
                raise BadGateway("The product's broker did not answer an NGSI entity list.")
            out.extend(page)
            offset += len(page)
            if len(page) < params["limit"] or (total is not None and offset >= total):
                break
        return out[:limit], total

    def refresh_quality(self, product_id: str, *, sample: int = 5000) -> dict:
        """Recompute a product's quality figures from its data and store them.

        Reads up to ``sample`` entities from the product's broker. Call it after loading
        data. Returns ``{entity_count, completeness, freshness, computed_at}``.
        """
        product = self._must(db.products, "product", id=product_id)

        async def run() -> tuple[list[dict], int | None]:
            # a private client: the cached ones may belong to another event loop
            client = broker_client(
                product, broker_app=self.broker_app, policy=self.upstream_policy
            )
            try:
                return await self.fetch_entities(
                    product, limit=sample, normalized=True, client=client
                )
            finally:
                await client.aclose()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            entities, total = asyncio.run(run())
        else:  # called from async code: run in a helper thread with its own loop
            box: dict = {}
            t = threading.Thread(target=lambda: box.setdefault("r", asyncio.run(run())))
            t.start()
            t.join()
            entities, total = box["r"]
        figures = compute_quality(entities, entity_count=total)
        with self.engine.begin() as conn:
            conn.execute(
                update(db.products).where(db.products.c.id == product_id).values(quality=figures)
            )
        self._invalidate()
        return figures
