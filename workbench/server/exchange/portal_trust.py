"""Portal pages for trust between users (ADR 0141), kept apart from :mod:`.portal`.

- ``/provider/products/new``: a provider creates a product with its plans (prices, quota,
  rate limit), terms (permitted purposes, prohibitions), licence, attribution and upstream
  broker, in one form;
- ``/provider/subscriptions/{id}/reject``: reject a pending subscription with a reason;
- ``/verification``: a buyer asks to be verified (organisation, contact, intended use);
- ``/admin``: admins review verification requests and products waiting to be listed.

Every POST here is a form in a template of its own (``product_new.html``,
``verification.html``, ``admin.html``) or a small inline form in ``provider.html``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from .auth import principal_of, service_of
from .errors import ExchangeError, Forbidden, InvalidInput
from .portal import _FORGED, _checked_form, _login_redirect, _may_manage, _page

router = APIRouter(include_in_schema=False)
PLAN_ROWS = 3


def install(app: FastAPI) -> None:
    """Add the trust pages to ``app`` (before the portal's catch-all product routes)."""
    app.include_router(router)


def _int(form: dict[str, str], key: str, label: str, *, optional: bool = False) -> int | None:
    raw = form.get(key, "").strip().replace(",", "").replace("_", "")
    if not raw:
        return None if optional else 0
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{label} must be a whole number, got {raw!r}.") from None


def plans_from_form(form: dict[str, str]) -> list[dict[str, Any]]:
    """The plans of the new-product form (rows ``plan{i}_*`` with an id)."""
    plans = []
    for i in range(PLAN_ROWS):
        plan_id = form.get(f"plan{i}_id", "").strip()
        if not plan_id:
            continue
        label = f"plan {plan_id!r}"
        plans.append(
            {
                "id": plan_id,
                "name": form.get(f"plan{i}_name", "").strip() or plan_id,
                "kind": form.get(f"plan{i}_kind", "free"),
                "price_per_1000_calls": _int(
                    form, f"plan{i}_price", f"{label}: yen per 1,000 calls"
                ),
                "monthly_fee": _int(form, f"plan{i}_fee", f"{label}: monthly fee"),
                "monthly_quota": _int(form, f"plan{i}_quota", f"{label}: quota", optional=True),
                "rate_limit_per_s": _int(
                    form, f"plan{i}_rate", f"{label}: rate limit", optional=True
                ),
                "trial_days": _int(form, f"plan{i}_trial", f"{label}: trial days"),
                "requires_approval": form.get(f"plan{i}_approval") == "yes",
            }
        )
    return plans


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.replace(",", "\n").splitlines() if x.strip()]


# ------------------------------------------------------------------ provider
@router.get("/provider/products/new")
def new_product_page(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    return _page(request, "product_new.html", form={}, plan_rows=range(PLAN_ROWS))


@router.post("/provider/products/new")
async def new_product(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    svc = service_of(request)

    def create() -> dict:
        if form is None:
            raise Forbidden(_FORGED)
        _may_manage(request)
        product = {
            "id": form.get("id", "").strip(),
            "title": form.get("title", ""),
            "description": form.get("description", ""),
            "service": form.get("service", "").strip() or None,
            "entity_types": _lines(form.get("entity_types", "")),
            "licence": form.get("licence", ""),
            "attribution": form.get("attribution", ""),
            "update_frequency": form.get("update_frequency", ""),
            "upstream_url": form.get("upstream_url", "").strip() or None,
            "restricted": form.get("restricted") == "yes",
            "synthetic": form.get("synthetic") == "yes",
        }
        terms = {
            "version": form.get("terms_version", "").strip(),
            "text": form.get("terms_text", ""),
            "permitted_purposes": _lines(form.get("permitted_purposes", "")),
            "prohibitions": _lines(form.get("prohibitions", "")),
        }
        return svc.offer_product(
            who.account_id, product=product, plans=plans_from_form(form), terms=terms
        )

    try:
        made = await run_in_threadpool(create)
    except ExchangeError as err:
        return _page(
            request,
            "product_new.html",
            err.status,
            form=form or {},
            plan_rows=range(PLAN_ROWS),
            error=err.detail,
        )
    status = svc.listing(made["id"])["status"]
    notice = {
        "listed": f"Created {made['id']}: it is listed in the catalog.",
        "review": f"Created {made['id']}: an admin reviews it before the catalog lists it.",
        "sandbox": f"Created {made['id']} in your sandbox (never listed).",
    }.get(status, f"Created {made['id']} ({status}).")
    return RedirectResponse(f"/provider?notice={quote(notice)}", status_code=303)


@router.post("/provider/subscriptions/{subscription_id}/reject")
async def reject_subscription(subscription_id: str, request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    svc = service_of(request)
    try:
        if form is None:
            raise Forbidden(_FORGED)
        _may_manage(request)
        await run_in_threadpool(
            lambda: svc.reject_subscription(
                subscription_id, reason=form.get("reason", ""), by_account_id=who.account_id
            )
        )
    except ExchangeError as err:
        target = f"/provider?error={quote(err.detail)}"
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"/provider?notice=Rejected+{quote(subscription_id)}", status_code=303)


# ------------------------------------------------------------------ buyers
def _verification(request: Request, status: int = 200, **extra: Any) -> Response:
    who = principal_of(request)
    svc = service_of(request)
    mine = svc.verification_requests(status=None, account_id=who.account_id)
    return _page(request, "verification.html", status, requests=mine, **extra)


@router.get("/verification")
def verification_page(request: Request) -> Response:
    if principal_of(request) is None:
        return _login_redirect(request)
    return _verification(request, form={})


@router.post("/verification")
async def request_verification(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    svc = service_of(request)
    try:
        if form is None:
            raise Forbidden(_FORGED)
        _may_manage(request)
        await run_in_threadpool(
            lambda: svc.request_verification(
                who.account_id,
                organisation=form.get("organisation", ""),
                contact=form.get("contact", ""),
                intended_use=form.get("intended_use", ""),
            )
        )
    except ExchangeError as err:
        status, detail = err.status, err.detail
        return await run_in_threadpool(
            lambda: _verification(request, status, form=form or {}, error=detail)
        )
    return await run_in_threadpool(
        lambda: _verification(
            request, 201, form={}, notice="Sent: an admin will review your request."
        )
    )


# ------------------------------------------------------------------ admins
def _admin_page(request: Request, status: int = 200, **extra: Any) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    if who.role != "admin":
        return _page(request, "catalog.html", 403, products=[], q="", error="Admins only.")
    svc = service_of(request)
    return _page(
        request,
        "admin.html",
        status,
        requests=svc.verification_requests(status="pending"),
        listings=svc.listing_queue(),
        **extra,
    )


@router.get("/admin")
def admin(request: Request, notice: str | None = None, error: str | None = None) -> Response:
    return _admin_page(
        request, notice=(notice or "")[:200] or None, error=(error or "")[:300] or None
    )


async def _admin_decision(request: Request, decide) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    try:
        if form is None:
            raise Forbidden(_FORGED)
        _may_manage(request)
        done = await run_in_threadpool(lambda: decide(who.account_id, form.get("reason", "")))
    except ExchangeError as err:
        return RedirectResponse(f"/admin?error={quote(err.detail)}", status_code=303)
    return RedirectResponse(f"/admin?notice={quote(done)}", status_code=303)


@router.post("/admin/verification/{request_id}/{decision}")
async def decide_verification(request_id: str, decision: str, request: Request) -> Response:
    svc = service_of(request)

    def decide(by: str, reason: str) -> str:
        if decision not in ("approve", "reject"):
            raise InvalidInput("Approve or reject.")
        row = svc.decide_verification(
            request_id, approve=decision == "approve", reason=reason, by_account_id=by
        )
        return f"{row['email']}: verification {row['status']}"

    return await _admin_decision(request, decide)


@router.post("/admin/listings/{product_id}/{decision}")
async def decide_listing(product_id: str, decision: str, request: Request) -> Response:
    svc = service_of(request)

    def decide(by: str, reason: str) -> str:
        if decision not in ("approve", "reject"):
            raise InvalidInput("Approve or reject.")
        row = svc.decide_listing(
            product_id, approve=decision == "approve", reason=reason, by_account_id=by
        )
        return f"{product_id}: {row['status']}"

    return await _admin_decision(request, decide)
