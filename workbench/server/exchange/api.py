"""The exchange REST API under ``/api/`` (see docs/exchange-api.md).

Handlers are thin: they authenticate the caller, validate the body with pydantic and call
:class:`~workbench.server.exchange.service.ExchangeService`. Errors are RFC 9457 problems.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from .auth import (
    SESSION_COOKIE,
    credential_from,
    principal_of,
    require_principal,
    require_scope,
    service_of,
)
from .browser_security import set_cookie
from .errors import Forbidden, NotFound
from .scopes import ACCOUNT_MANAGE, ACCOUNT_READ, DATA_READ, format_scopes, parse_scopes
from .security import MIN_PASSWORD_LENGTH
from .service import ExchangeService, Principal


class Problem(BaseModel):
    """An RFC 9457 problem (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
router = APIRouter(
    prefix="/api",
    tags=["exchange"],
    responses={
        code: {**_PROBLEM, "description": text}
        for code, text in (
            (401, "No or invalid credential"),
            (403, "Not allowed for this account"),
            (404, "No such object (or not yours)"),
            (409, "Conflicts with the current state"),
            (422, "Invalid input"),
        )
    },
)

Caller = Annotated[Principal, Depends(require_principal)]  # any valid credential
Reader = Annotated[Principal, Depends(require_scope(ACCOUNT_READ))]
Manager = Annotated[Principal, Depends(require_scope(ACCOUNT_MANAGE))]
Svc = Annotated[ExchangeService, Depends(service_of)]


class SignUp(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description=(
            f"At least {MIN_PASSWORD_LENGTH} characters, not one of the 20,000 most common "
            "passwords, not mostly the e-mail address or name."
        ),
    )
    name: str = Field(min_length=1, max_length=200)
    role: Literal["buyer", "provider"] = "buyer"
    organization: str | None = Field(
        default=None, max_length=200, description="provider sign-up: the organisation's name"
    )


class Login(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class NewSubscription(BaseModel):
    product_id: str = Field(max_length=64)
    plan_id: str = Field(max_length=64)
    purpose: str = Field(min_length=3, max_length=2000)
    terms_version: str = Field(max_length=40)


class NewCredential(BaseModel):
    kind: Literal["api_key", "oauth_client"] = "api_key"
    label: str = Field(default="", max_length=200)
    scopes: list[str] | None = Field(
        default=None,
        max_length=10,
        description=(
            "What the credential may do: data:read, data:write, account:read, account:manage. "
            "Default: the scopes of the credential making the request. A read-only key for "
            'a notebook or a dashboard is ["data:read"].'
        ),
    )


class NewProduct(BaseModel):
    id: str = Field(max_length=64)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20000)
    service: str = Field(max_length=50)
    entity_types: list[str] = Field(default_factory=list, max_length=100)
    licence: str = Field(max_length=200)
    attribution: str = Field(default="", max_length=2000)
    update_frequency: str = Field(default="", max_length=100)
    restricted: bool = False
    synthetic: bool = False
    documentation: str = Field(default="", max_length=100000)
    tutorial: str = Field(default="", max_length=100000)
    upstream_url: str | None = Field(default=None, max_length=500)
    preview_size: int = Field(default=10, ge=0, le=100)


class NewPlan(BaseModel):
    id: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["free", "metered", "monthly"]
    price_per_1000_calls: int = Field(default=0, ge=0, le=10**9)
    monthly_fee: int = Field(default=0, ge=0, le=10**9)
    monthly_quota: int | None = Field(default=None, ge=1, le=10**12)
    rate_limit_per_s: int | None = Field(default=None, ge=1, le=10**6)
    trial_days: int = Field(default=0, ge=0, le=3650)
    requires_approval: bool = False


class NewTerms(BaseModel):
    version: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=100000)
    permitted_purposes: list[str] = Field(default_factory=list, max_length=100)
    prohibitions: list[str] = Field(default_factory=list, max_length=100)


class NewOffer(NewProduct):
    """A product with, optionally, its plans and terms (created together, all or nothing)."""

    service: str = Field(default="", max_length=50)
    plans: list[NewPlan] = Field(default_factory=list, max_length=20)
    terms: NewTerms | None = None


def _public_product(p: dict) -> dict:
    out = {k: v for k, v in p.items() if k not in ("upstream_url",)}
    terms = out.get("terms")
    if terms:
        out["terms"] = {k: v for k, v in terms.items() if k != "seq"}
    return out


def _own_product(svc: ExchangeService, who: Principal, product_id: str) -> dict:
    product = svc.product(product_id)
    if who.role != "admin" and (
        who.role != "provider" or who.organization_id != product["organization_id"]
    ):
        raise Forbidden(f"Only the provider of {product_id!r} can change it.")
    return product


# ------------------------------------------------------------------ accounts
@router.post("/accounts", status_code=201, summary="Sign up")
def sign_up(body: SignUp, svc: Svc) -> dict:
    """Create a buyer (or provider, with a new organisation) account. Not yet verified."""
    org_id = None
    if body.role == "provider":
        if not body.organization:
            from .errors import InvalidInput

            raise InvalidInput("A provider sign-up needs 'organization' (its name).")
        org_id = svc.create_organization(body.organization, kind="provider")
    account_id = svc.create_account(
        body.email,
        body.password,
        name=body.name,
        role=body.role,
        organization_id=org_id,
        verified=False,
    )
    return svc.account(account_id)


@router.post("/login", summary="Log in")
def login(body: Login, request: Request, svc: Svc, response: Response) -> dict:
    """Return a short-lived token for the account and set the portal's session cookie.

    Failed attempts are throttled per (account, client) and per client: 429 with
    ``Retry-After`` (docs/adr/0111)."""
    client = request.client.host if request.client else "unknown"
    account_id = svc.authenticate_password(body.email, body.password, client=client)
    token, ttl = svc.login_token(account_id)
    set_cookie(response, request, SESSION_COOKIE, token, ttl)
    response.headers["Cache-Control"] = "no-store"
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "account_id": account_id,
    }


@router.post("/logout", status_code=204, summary="Log out")
def logout(request: Request, who: Caller, svc: Svc) -> Response:
    """Revoke the token this call was made with (bearer or session cookie) and clear the
    cookie. API keys are not tokens: revoke them with DELETE /api/credentials/{id}."""
    for token in {credential_from(request), request.cookies.get(SESSION_COOKIE)}:
        if token and not token.startswith("wbk_"):
            svc.revoke_token(token, by_account_id=who.account_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="The calling account")
def me(who: Reader, svc: Svc) -> dict:
    return svc.account(who.account_id)


@router.post("/accounts/{account_id}/verify", summary="Verify an account (admin)")
def verify(account_id: str, who: Manager, svc: Svc) -> dict:
    svc.verify_account(account_id, by_account_id=who.account_id)
    return svc.account(account_id)


# ------------------------------------------------------------------ catalog
@router.get("/products", summary="The catalog")
def products(svc: Svc, q: Annotated[str | None, Query(max_length=200)] = None) -> list[dict]:
    """List products; ``q`` keeps those matching every word (title, description, types...)."""
    return [_public_product(p) for p in svc.list_products(q)]


@router.get("/products/{product_id}", summary="One product")
def product(product_id: str, svc: Svc, request: Request) -> dict:
    found = svc.product(product_id)
    if not svc.may_see_product(found, principal_of(request)):
        raise NotFound(f"No product {product_id!r}.")
    return {**_public_product(found), "listing": svc.listing(product_id)["status"]}


@router.get("/products/{product_id}/preview", summary="Free preview (first entities)")
async def preview(product_id: str, request: Request) -> list[dict]:
    svc = service_of(request)
    product = svc.product(product_id)
    who = principal_of(request)
    if not svc.may_see_product(product, who):
        raise NotFound(f"No product {product_id!r}.")
    if not svc.may_preview(product, who if who and DATA_READ in who.scopes else None):
        raise Forbidden(
            f"{product_id!r} is restricted: its preview is shown to active subscribers only."
        )
    entities, _ = await svc.fetch_entities(product, limit=product["preview_size"])
    return entities[: product["preview_size"]] if product["preview_size"] else []


@router.get("/products/{product_id}/plans", summary="A product's plans")
def plans(product_id: str, svc: Svc) -> list[dict]:
    svc.product(product_id)
    return svc.plans(product_id)


@router.get("/products/{product_id}/terms", summary="A product's current terms")
def terms(product_id: str, svc: Svc) -> dict:
    svc.product(product_id)
    current = svc.current_terms(product_id)
    if current is None:
        raise NotFound(f"Product {product_id!r} has no published terms yet.")
    return {k: v for k, v in current.items() if k != "seq"}


@router.post("/products", status_code=201, summary="Create a product (provider)")
def create_product(body: NewOffer, who: Manager, svc: Svc) -> dict:
    """Create a product; with ``plans`` and ``terms`` it is complete in one call. Products of
    unverified providers wait for an admin's review before the catalog lists them."""
    if who.role != "provider" or not who.organization_id:
        raise Forbidden("Only provider accounts can create products.")
    fields = body.model_dump(exclude={"plans", "terms"})
    plans = [p.model_dump() for p in body.plans]
    terms = body.terms.model_dump() if body.terms else None
    made = svc.offer_product(
        who.account_id, product=fields, plans=plans, terms=terms, partial=not (plans or terms)
    )
    return {**_public_product(made), "listing": svc.listing(body.id)["status"]}


@router.post("/products/{product_id}/plans", status_code=201, summary="Add a plan (provider)")
def create_plan(product_id: str, body: NewPlan, who: Manager, svc: Svc) -> list[dict]:
    _own_product(svc, who, product_id)
    svc.create_plan(product_id, **body.model_dump())
    return svc.plans(product_id)


@router.post("/products/{product_id}/terms", status_code=201, summary="Publish terms (provider)")
def publish_terms(product_id: str, body: NewTerms, who: Manager, svc: Svc) -> dict:
    _own_product(svc, who, product_id)
    svc.publish_terms(product_id, **body.model_dump())
    return terms(product_id, svc)


@router.post("/products/{product_id}/quality", summary="Recompute quality (provider)")
def refresh_quality(product_id: str, who: Manager, svc: Svc) -> dict:
    _own_product(svc, who, product_id)
    return svc.refresh_quality(product_id)


# ------------------------------------------------------------- subscriptions
@router.post("/subscriptions", status_code=201, summary="Subscribe (accept terms, declare purpose)")
def subscribe(body: NewSubscription, who: Manager, svc: Svc) -> dict:
    sub_id = svc.subscribe(
        who.account_id,
        body.product_id,
        body.plan_id,
        purpose=body.purpose,
        terms_version=body.terms_version,
    )
    return svc.subscription(sub_id)


@router.get("/subscriptions", summary="My subscriptions (or, for providers, to my products)")
def subscriptions(
    who: Reader,
    svc: Svc,
    scope: Annotated[Literal["buyer", "provider"], Query()] = "buyer",
) -> list[dict]:
    if scope == "provider":
        if not who.organization_id:
            raise Forbidden("scope=provider needs a provider account.")
        return svc.subscribers(who.organization_id)
    mine = svc.list_subscriptions(account_id=who.account_id)
    reasons = svc.decision_reasons([s["id"] for s in mine if s["status"] == "rejected"])
    return [{**s, "reason": reasons.get(s["id"], "")} for s in mine]


def _visible_subscription(svc: ExchangeService, who: Principal, subscription_id: str) -> dict:
    sub = svc.subscription(subscription_id)
    if who.role == "admin" or sub["account_id"] == who.account_id:
        return sub
    product = svc.product(sub["product_id"])
    if who.organization_id and who.organization_id == product["organization_id"]:
        return sub
    raise NotFound(f"No subscription {subscription_id!r} visible to you.")


@router.get("/subscriptions/{subscription_id}", summary="One subscription")
def subscription(subscription_id: str, who: Reader, svc: Svc) -> dict:
    return _visible_subscription(svc, who, subscription_id)


@router.post("/subscriptions/{subscription_id}/approve", summary="Approve (provider)")
def approve(subscription_id: str, who: Manager, svc: Svc) -> dict:
    _visible_subscription(svc, who, subscription_id)
    svc.approve_subscription(subscription_id, by_account_id=who.account_id)
    return svc.subscription(subscription_id)


@router.post("/subscriptions/{subscription_id}/cancel", summary="Cancel")
def cancel(subscription_id: str, who: Manager, svc: Svc) -> dict:
    _visible_subscription(svc, who, subscription_id)
    svc.cancel_subscription(subscription_id, by_account_id=who.account_id)
    return svc.subscription(subscription_id)


@router.post("/subscriptions/{subscription_id}/suspend", summary="Suspend (provider)")
def suspend(subscription_id: str, who: Manager, svc: Svc) -> dict:
    _visible_subscription(svc, who, subscription_id)
    svc.suspend_subscription(subscription_id, by_account_id=who.account_id)
    return svc.subscription(subscription_id)


# --------------------------------------------------------------- credentials
@router.post("/credentials", status_code=201, summary="Issue a credential (secret shown once)")
def issue_credential(body: NewCredential, who: Manager, svc: Svc, response: Response) -> dict:
    response.headers["Cache-Control"] = "no-store"
    scopes = who.scopes if body.scopes is None else parse_scopes(body.scopes) or frozenset()
    if not scopes <= who.scopes:  # a credential never mints a stronger one
        raise Forbidden(
            f"This credential holds {format_scopes(who.scopes)}; it cannot issue one with "
            f"{format_scopes(scopes - who.scopes)}."
        )
    if body.kind == "api_key":
        cred_id, key = svc.issue_api_key(who.account_id, label=body.label, scopes=list(scopes))
        out: dict[str, Any] = {
            "id": cred_id,
            "kind": "api_key",
            "label": body.label,
            "api_key": key,
        }
    else:
        client_id, secret = svc.issue_oauth_client(
            who.account_id, label=body.label, scopes=list(scopes)
        )
        out = {
            "id": svc.credential_id_for_client(client_id),
            "kind": "oauth_client",
            "label": body.label,
            "client_id": client_id,
            "client_secret": secret,
            "token_url": "/oauth2/token",
        }
    out["scopes"] = format_scopes(scopes).split()
    out["note"] = "Store the secret now: it is shown only once."
    return out


@router.get("/credentials", summary="My credentials (without secrets)")
def credentials(who: Reader, svc: Svc) -> list[dict]:
    return svc.list_credentials(who.account_id)


@router.delete("/credentials/{credential_id}", status_code=204, summary="Revoke a credential")
def revoke_credential(credential_id: str, who: Manager, svc: Svc) -> Response:
    svc.revoke_credential(credential_id, by_account_id=who.account_id)
    return Response(status_code=204)


# ------------------------------------------------------------ usage & money
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


@router.get("/usage", summary="My usage per subscription and month")
def usage(who: Reader, svc: Svc, month: Month = None) -> list[dict]:
    return svc.usage(who.account_id, month=month)


@router.get("/bills", summary="My monthly bills")
def bills(
    who: Reader,
    svc: Svc,
    scope: Annotated[Literal["buyer", "provider"], Query()] = "buyer",
) -> list[dict]:
    if scope == "provider":
        if not who.organization_id:
            raise Forbidden("scope=provider needs a provider account.")
        return svc.provider_bills(who.organization_id)
    return svc.bills(who.account_id)


@router.get("/settlements", summary="Revenue settlements of my organisation (provider)")
def settlements(who: Reader, svc: Svc) -> list[dict]:
    if who.role not in ("provider", "admin") or not who.organization_id:
        raise Forbidden("Settlements are for provider accounts.")
    return svc.settlements(who.organization_id)


@router.get("/audit", summary="Audit entries about me or my organisation")
def audit(who: Reader, svc: Svc, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
    return svc.audit_log(who.account_id, limit=limit)


@router.get("/organizations", summary="Organisations")
def organizations(svc: Svc) -> list[dict]:
    return svc.list_organizations()
