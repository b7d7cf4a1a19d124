"""Trust between the exchange's users: listing review, buyer verification, decisions.

A mixin of :class:`~workbench.server.exchange.service.ExchangeService` (ADR 0141):

- **offering a product** in one validated step (product, plans, terms), whose listing is
  ``listed`` for verified providers, ``review`` for unverified ones (an admin approves or
  rejects it before the catalog shows it) and ``sandbox`` for workshop sandboxes (never
  listed; only the owner and admins see it);
- **verification requests**: a buyer names their organisation, a contact and the intended
  use; an admin approves (the account becomes verified) or rejects with a reason;
- **rejecting a pending subscription** with a reason the buyer sees;
- the provider's **subscribers** with their declared purposes and usage.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from . import db
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .security import new_id

LISTING_STATES = ("review", "listed", "rejected", "sandbox")
_PLAN_KINDS = ("free", "metered", "monthly")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SERVICE_RE = re.compile(r"^[a-z0-9_]{1,50}$")
_CONTACT_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{1,63}$")


def _iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: Any, label: str, *, low: int = 1, high: int = 2000) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not low <= len(text) <= high:
        raise InvalidInput(f"{label} must be {low} to {high} characters (got {len(text)}).")
    return text


def _words(values: Any, label: str) -> list[str]:
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\n]", values)]
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{label} must be a list of short words, e.g. ['research'].")
    out = [str(v).strip() for v in values if str(v).strip()]
    if any(len(v) > 200 for v in out):
        raise InvalidInput(f"each of {label} must be at most 200 characters.")
    return out


def check_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Validate one plan of a new product and return it with defaults filled in.

    Raises
    ------
    InvalidInput
        Naming the field that is wrong and what is expected.
    """
    out = {
        "id": plan.get("id"),
        "name": plan.get("name") or plan.get("id"),
        "kind": plan.get("kind"),
        "price_per_1000_calls": plan.get("price_per_1000_calls") or 0,
        "monthly_fee": plan.get("monthly_fee") or 0,
        "monthly_quota": plan.get("monthly_quota"),
        "rate_limit_per_s": plan.get("rate_limit_per_s"),
        "trial_days": plan.get("trial_days") or 0,
        "requires_approval": bool(plan.get("requires_approval", False)),
    }
    if not isinstance(out["id"], str) or not _ID_RE.match(out["id"]):
        raise InvalidInput(f"plan id {out['id']!r} must be 1-64 letters, digits or '_.-'.")
    if out["kind"] not in _PLAN_KINDS:
        raise InvalidInput(
            f"plan {out['id']!r}: kind must be one of {_PLAN_KINDS}, got {out['kind']!r}."
        )
    for key in ("price_per_1000_calls", "monthly_fee", "trial_days"):
        if not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 0:
            raise InvalidInput(f"plan {out['id']!r}: {key} must be a whole number >= 0.")
    for key in ("monthly_quota", "rate_limit_per_s"):
        value = out[key]
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidInput(f"plan {out['id']!r}: {key} must be a whole number >= 1, or empty.")
    if out["kind"] == "metered" and out["price_per_1000_calls"] == 0:
        raise InvalidInput(
            f"plan {out['id']!r} is metered: give price_per_1000_calls (yen), or make it free."
        )
    if out["kind"] == "monthly" and out["monthly_fee"] == 0:
        raise InvalidInput(
            f"plan {out['id']!r} is monthly: give monthly_fee (yen), or make it free."
        )
    if out["kind"] == "free" and (out["price_per_1000_calls"] or out["monthly_fee"]):
        raise InvalidInput(f"plan {out['id']!r} is free: it cannot have a price or a fee.")
    return out


class TrustMixin:
    """Listing review, verification requests and subscription decisions (see module doc)."""

    # ---------------------------------------------------------------- products
    def offer_product(
        self,
        account_id: str | None,
        *,
        product: dict[str, Any],
        plans: list[dict[str, Any]],
        terms: dict[str, Any] | None,
        organization_id: str | None = None,
        partial: bool = False,
    ) -> dict:
        """Create a product with its plans and terms in one validated step; return it.

        Everything is checked before anything is written, so a mistake leaves nothing
        half-made. The listing is ``listed`` when the provider is verified (or the caller is
        the local administrator, ``account_id=None``), ``review`` otherwise, and
        ``sandbox`` for a workshop sandbox organisation.

        Parameters
        ----------
        account_id
            The provider account creating it (``None``: the local administrator, CLI).
        product
            ``id``, ``title``, ``service``, ``licence``, ``attribution`` and optionally
            ``description``, ``entity_types``, ``update_frequency``, ``restricted``,
            ``synthetic``, ``documentation``, ``tutorial``, ``upstream_url``,
            ``preview_size``.
        plans
            At least one plan (see :func:`check_plan`).
        terms
            ``version``, ``text``, ``permitted_purposes``, ``prohibitions``.
        organization_id
            The provider organisation (needed when ``account_id`` is None).
        partial
            Allow no plans and no terms (added later with their own calls).

        Raises
        ------
        Forbidden
            The account is not a provider.
        InvalidInput, Conflict
            Naming the field that is wrong, or the id or service already taken.
        """
        verified = True
        if account_id is not None:
            account = self.account(account_id)
            if account["role"] not in ("provider", "admin") or not account["organization_id"]:
                raise Forbidden(
                    "Only provider accounts can create products: sign up as a provider "
                    "(with your organisation's name) or ask an admin."
                )
            organization_id = organization_id or account["organization_id"]
            verified = bool(account["verified"]) or account["role"] == "admin"
        if not organization_id:
            raise InvalidInput("Name the provider organisation (organization_id).")
        org = self.organization(organization_id)
        fields = dict(product)
        pid = fields.get("id")
        if not isinstance(pid, str) or not _ID_RE.match(pid):
            raise InvalidInput(f"product id {pid!r} must be 1-64 letters, digits or '_.-'.")
        service = fields.get("service") or pid.lower().replace("-", "_").replace(".", "_")
        if not _SERVICE_RE.match(service):
            raise InvalidInput(
                f"service {service!r} must be 1-50 lower-case letters, digits or underscores "
                "(the NGSI Fiware-Service of the product)."
            )
        fields["service"] = service
        fields["title"] = _text(fields.get("title"), "title", high=300)
        fields["licence"] = _text(fields.get("licence"), "licence (e.g. 'CC BY 4.0')", high=200)
        fields["attribution"] = _text(  # the bare product route (partial) keeps it optional
            fields.get("attribution") or ("" if partial else None),
            "attribution (who to credit)",
            low=0 if partial else 1,
            high=2000,
        )
        fields["entity_types"] = _words(fields.get("entity_types") or [], "entity_types")
        fields.setdefault("description", "")
        fields.setdefault("update_frequency", "")
        upstream = fields.get("upstream_url") or None
        if upstream is not None and not str(upstream).startswith(("http://", "https://")):
            raise InvalidInput(
                f"upstream_url {upstream!r} must be the http(s) URL of an NGSI v2 broker."
            )
        fields["upstream_url"] = upstream
        if self._row(db.products, id=pid):
            raise Conflict(f"A product with id {pid!r} already exists; choose another id.")
        if self._row(db.products, service=service):
            raise Conflict(f"Another product already uses Fiware-Service {service!r}.")
        if not plans and not partial:
            raise InvalidInput("Give at least one plan (e.g. a free plan for open data).")
        checked = [check_plan(p) for p in plans]
        ids = [p["id"] for p in checked]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"plan ids must be distinct, got {ids}.")
        if terms is None and not partial:
            raise InvalidInput(
                "Give terms: a version, the text, permitted purposes and prohibitions."
            )
        terms = terms and {
            "version": _text(str(terms.get("version") or ""), "terms version", high=40),
            "text": _text(terms.get("text"), "terms text", high=100_000),
            "permitted_purposes": _words(
                terms.get("permitted_purposes") or [], "permitted_purposes"
            ),
            "prohibitions": _words(terms.get("prohibitions") or [], "prohibitions"),
        }
        if terms and not terms["permitted_purposes"]:
            raise InvalidInput("Terms need at least one permitted purpose (e.g. 'research').")
        allowed = {
            "id",
            "organization_id",
            "title",
            "description",
            "service",
            "entity_types",
            "licence",
            "attribution",
            "update_frequency",
            "restricted",
            "synthetic",
            "documentation",
            "tutorial",
            "upstream_url",
            "preview_size",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise InvalidInput(f"unknown product fields {sorted(unknown)}.")
        fields["organization_id"] = organization_id
        self.create_product(**fields, by_account_id=account_id)
        for plan in checked:
            self.create_plan(pid, **plan)
        if terms:
            self.publish_terms(pid, **terms)
        status = "sandbox" if org["kind"] == "sandbox" else "listed" if verified else "review"
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.product_listings).values(
                    product_id=pid, status=status, reason="", requested_at=_iso()
                )
            )
            self._audit(
                conn,
                "product.listing",
                pid,
                actor_id=account_id,
                organization_id=org["id"],
                status=status,
            )
        return self.product(pid)

    def listing(self, product_id: str) -> dict:
        """Return ``{"status", "reason"}`` of a product's listing (``listed`` if never
        reviewed: products made by the seeder and the local administrator)."""
        row = self._row(db.product_listings, product_id=product_id)
        if row is None:
            return {"product_id": product_id, "status": "listed", "reason": ""}
        return row

    def unlisted_product_ids(self) -> set[str]:
        """Ids of products the public catalog does not show (review, rejected, sandbox)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.product_listings.c.product_id).where(
                    db.product_listings.c.status != "listed"
                )
            )
            return {r[0] for r in rows}

    def may_see_product(self, product: dict, principal: Any) -> bool:
        """Whether ``principal`` may see ``product``: listed products are public; the others
        only to their provider and admins."""
        if self.listing(product["id"])["status"] == "listed":
            return True
        return principal is not None and (
            principal.role == "admin" or principal.organization_id == product["organization_id"]
        )

    def listing_queue(self) -> list[dict]:
        """Products waiting for an admin's review, oldest first, with their provider."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.product_listings)
                .where(db.product_listings.c.status == "review")
                .order_by(db.product_listings.c.requested_at)
            )
            queue = [dict(r) for r in rows.mappings()]
        return [{**r, "product": self.product(r["product_id"])} for r in queue]

    def decide_listing(
        self, product_id: str, *, approve: bool, reason: str = "", by_account_id: str | None
    ) -> dict:
        """Approve (list) or reject a product in review (admins; ``None``: local CLI).

        Raises
        ------
        InvalidInput
            A rejection without a reason.
        Conflict
            The product is not waiting for review.
        """
        if by_account_id is not None:
            self._require_role(by_account_id, "admin")
        product = self.product(product_id)
        current = self.listing(product_id)
        if current["status"] != "review":
            raise Conflict(f"{product_id!r} is {current['status']}, not waiting for review.")
        reason = (reason or "").strip()
        if not approve and len(reason) < 3:
            raise InvalidInput("Say why the product is rejected (the provider reads it).")
        status = "listed" if approve else "rejected"
        with self.engine.begin() as conn:
            conn.execute(
                update(db.product_listings)
                .where(db.product_listings.c.product_id == product_id)
                .values(status=status, reason=reason, decided_by=by_account_id, decided_at=_iso())
            )
            self._audit(
                conn,
                f"product.{status}",
                product_id,
                actor_id=by_account_id,
                organization_id=product["organization_id"],
                reason=reason,
            )
        self._invalidate()
        return self.listing(product_id)

    def create_sandbox_organization(self, name: str) -> str:
        """Create a workshop sandbox provider organisation (its products are never listed)."""
        org_id = new_id("org")
        if self._row(db.organizations, name=name):
            raise Conflict(f"An organisation named {name!r} already exists.")
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.organizations).values(
                    id=org_id,
                    name=name,
                    kind="sandbox",
                    description="Workshop sandbox: products made here are never listed.",
                    created_at=_iso(),
                )
            )
        return org_id

    def make_sandbox_provider(self, account_id: str, *, name: str) -> str:
        """Give an account a workshop sandbox organisation of its own and the provider role
        (the local administrator's ``check-workshop --fix``); return the organisation id."""
        account = self.account(account_id)
        if account["organization_id"]:
            raise Conflict(f"{account['email']} already belongs to an organisation.")
        org_id = self.create_sandbox_organization(name)
        with self.engine.begin() as conn:
            conn.execute(
                update(db.accounts)
                .where(db.accounts.c.id == account_id)
                .values(role="provider", organization_id=org_id)
            )
        self._invalidate()
        return org_id

    # --------------------------------------------------------- subscriptions
    def reject_subscription(self, subscription_id: str, *, reason: str, by_account_id: str) -> None:
        """Reject a pending subscription with a reason the buyer sees (provider or admin).

        Raises
        ------
        InvalidInput
            No reason given.
        Conflict
            The subscription is not pending.
        """
        sub = self.subscription(subscription_id)
        _, product = self._authorise_provider(sub, by_account_id)
        reason = (reason or "").strip()
        if not 3 <= len(reason) <= 2000:
            raise InvalidInput("Give the buyer a reason (3 to 2000 characters).")
        if sub["status"] != "pending":
            raise Conflict(f"Subscription {subscription_id} is {sub['status']}, not pending.")
        now = _iso()
        with self.engine.begin() as conn:
            conn.execute(
                update(db.subscriptions)
                .where(db.subscriptions.c.id == subscription_id)
                .values(status="rejected", ended_at=now)
            )
            conn.execute(
                insert(db.subscription_decisions).values(
                    subscription_id=subscription_id,
                    decision="rejected",
                    reason=reason,
                    decided_by=by_account_id,
                    decided_at=now,
                )
            )
            self._audit(
                conn,
                "subscription.rejected",
                subscription_id,
                actor_id=by_account_id,
                buyer_id=sub["account_id"],
                organization_id=product["organization_id"],
                reason=reason,
            )
        self._invalidate()

    def decision_reasons(self, subscription_ids: list[str]) -> dict[str, str]:
        """The rejection reason of each rejected subscription among ``subscription_ids``."""
        if not subscription_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.subscription_decisions).where(
                    db.subscription_decisions.c.subscription_id.in_(subscription_ids)
                )
            )
            return {r["subscription_id"]: r["reason"] for r in rows.mappings()}

    def subscribers(self, organization_id: str) -> list[dict]:
        """Every subscription to an organisation's products, with the buyer, the declared
        purpose, the status (and rejection reason) and the calls made so far."""
        subs = {s["id"]: s for s in self.list_subscriptions(organization_id=organization_id)}
        self.meter.flush()
        calls: dict[str, int] = {}
        for row in self._usage_rows(subs, None):
            calls[row["subscription_id"]] = calls.get(row["subscription_id"], 0) + row["calls"]
        reasons = self.decision_reasons(list(subs))
        out = []
        for s in subs.values():
            buyer = self.account(s["account_id"])
            out.append(
                {
                    **s,
                    "buyer": f"{buyer['name']} <{buyer['email']}>",
                    "buyer_verified": bool(buyer["verified"]),
                    "calls": calls.get(s["id"], 0),
                    "reason": reasons.get(s["id"], ""),
                }
            )
        return out

    # ----------------------------------------------------- verification requests
    def request_verification(
        self, account_id: str, *, organisation: str, contact: str, intended_use: str
    ) -> dict:
        """Ask the admins to verify an account (needed for restricted products).

        Raises
        ------
        InvalidInput
            A field missing or malformed (the contact must be an e-mail address).
        Conflict
            The account is already verified or has a request pending.
        """
        account = self.account(account_id)
        if account["verified"]:
            raise Conflict("Your account is already verified.")
        organisation = _text(organisation, "organisation", high=200)
        contact = (contact or "").strip()
        if not _CONTACT_RE.match(contact) or len(contact) > 320:
            raise InvalidInput(f"contact {contact!r} must be an e-mail address we can write to.")
        intended_use = _text(intended_use, "intended use", low=10, high=2000)
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(db.verification_requests.c.id).where(
                    db.verification_requests.c.account_id == account_id,
                    db.verification_requests.c.status == "pending",
                )
            ).first()
        if pending:
            raise Conflict(f"Your request {pending[0]} is already waiting for an admin.")
        request_id = new_id("ver")
        with self.engine.begin() as conn:
            conn.execute(
                insert(db.verification_requests).values(
                    id=request_id,
                    account_id=account_id,
                    organisation=organisation,
                    contact=contact,
                    intended_use=intended_use,
                    status="pending",
                    reason="",
                    created_at=_iso(),
                )
            )
            self._audit(
                conn,
                "verification.requested",
                request_id,
                actor_id=account_id,
                buyer_id=account_id,
                organisation=organisation,
            )
        return self.verification_request(request_id)

    def verification_request(self, request_id: str) -> dict:
        """Return one verification request (with the account's e-mail and name)."""
        row = self._row(db.verification_requests, id=request_id)
        if row is None:
            raise NotFound(f"No verification request {request_id!r}.")
        account = self.account(row["account_id"])
        return {**row, "email": account["email"], "name": account["name"]}

    def verification_requests(
        self, *, status: str | None = "pending", account_id: str | None = None
    ) -> list[dict]:
        """Verification requests, oldest first (``status=None``: all)."""
        stmt = select(db.verification_requests.c.id).order_by(db.verification_requests.c.created_at)
        if status:
            stmt = stmt.where(db.verification_requests.c.status == status)
        if account_id:
            stmt = stmt.where(db.verification_requests.c.account_id == account_id)
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(stmt)]
        return [self.verification_request(i) for i in ids]

    def decide_verification(
        self, request_id: str, *, approve: bool, reason: str = "", by_account_id: str | None
    ) -> dict:
        """Approve (verify the account) or reject a verification request (admins; ``None``:
        the local administrator using the CLI)."""
        if by_account_id is not None:
            self._require_role(by_account_id, "admin")
        req = self.verification_request(request_id)
        if req["status"] != "pending":
            raise Conflict(f"Request {request_id} is {req['status']}, not pending.")
        reason = (reason or "").strip()
        if not approve and len(reason) < 3:
            raise InvalidInput("Say why the request is rejected (the buyer reads it).")
        with self.engine.begin() as conn:
            conn.execute(
                update(db.verification_requests)
                .where(db.verification_requests.c.id == request_id)
                .values(
                    status="approved" if approve else "rejected",
                    reason=reason,
                    decided_by=by_account_id,
                    decided_at=_iso(),
                )
            )
            if not approve:
                self._audit(
                    conn,
                    "verification.rejected",
                    request_id,
                    actor_id=by_account_id,
                    buyer_id=req["account_id"],
                    reason=reason,
                )
        if approve:
            self.verify_account(req["account_id"], by_account_id=by_account_id)
        return self.verification_request(request_id)
