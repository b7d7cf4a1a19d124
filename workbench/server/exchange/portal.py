"""The web portal: server-rendered Jinja2 pages and one local stylesheet (no CDN, no JS).

Pages: catalog with search (``/``), product page (``/products/{id}``: docs, preview table,
plans, terms, quality, subscribe form), sign-up and log-in, my account (``/me``:
subscriptions, credentials with secrets shown once, usage and bills) and provider revenue
and approvals (``/provider``). The session is the log-in token in an HttpOnly,
SameSite=Strict cookie. SameSite does not stop other ports of the same host (dashboards,
JupyterLab), so every state-changing form also carries a CSRF token and cookie-borne writes
must come from the exchange's own origin (``browser_security.py``, docs/adr/0112).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from .auth import SESSION_COOKIE, principal_of, service_of
from .browser_security import CSRF_COOKIE, csrf_ok, csrf_token, set_cookie
from .errors import ExchangeError, Forbidden, InvalidInput
from .scopes import ACCOUNT_MANAGE

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the portal's pages and its static files (``/portal/static``) to ``app``."""
    app.mount("/portal/static", StaticFiles(directory=str(_HERE / "static")), name="portal-static")
    app.include_router(router)


def _account(request: Request) -> dict | None:
    who = principal_of(request)
    return service_of(request).account(who.account_id) if who else None


def _page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("account", _account(request))
    token, new_cookie = csrf_token(request)
    context["csrf_token"] = token
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    if new_cookie:
        set_cookie(response, request, CSRF_COOKIE, new_cookie, 86400)
    return response


_FORGED = (
    "This form has expired or was not sent from this site's own page; reload the page and "
    "try again (フォームの有効期限が切れたか、他のサイトから送信されました。"
    "再読み込みしてください)."
)


async def _checked_form(request: Request) -> dict[str, str] | None:
    """The posted form when it carries this browser's CSRF token, else None."""
    form = await _form(request)
    return form if csrf_ok(request, form) else None


def _may_manage(request: Request) -> None:
    who = principal_of(request)
    if who is not None and ACCOUNT_MANAGE not in who.scopes:
        raise Forbidden("This account is read-only: it cannot subscribe or issue credentials.")


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    try:
        form = await request.form()
    except Exception:  # malformed body: treat as empty, the handler reports what is missing
        return {}
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/me"
    return target


# ---------------------------------------------------------------- catalog
@router.get("/")
def catalog(request: Request, q: str | None = None) -> Response:
    q = (q or "")[:200]
    products = service_of(request).list_products(q or None)
    return _page(request, "catalog.html", products=products, q=q)


def _preview_table(entities: list[dict]) -> tuple[list[str], list[list[str]]]:
    columns: list[str] = []
    for e in entities:
        for k in e:
            if k not in columns:
                columns.append(k)
    rows = [[_cell(e.get(c, "")) for c in columns] for e in entities]
    return columns, rows


def _cell(value: Any) -> str:
    """A short text for a preview cell (GeoJSON as its type and first point)."""
    if isinstance(value, dict) and "coordinates" in value and "type" in value:
        coords = value["coordinates"]
        while isinstance(coords, list) and coords and isinstance(coords[0], list):
            coords = coords[0]
        more = "" if value["type"] == "Point" else ", …"
        try:
            return f"{value['type']} ({coords[0]:.5f}, {coords[1]:.5f}{more})"
        except (TypeError, ValueError, IndexError, KeyError):
            return str(value["type"])[:80]
    if isinstance(value, str):
        text = value
    else:
        text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:77] + "…"


@router.get("/products/{product_id}")
async def product_page(product_id: str, request: Request) -> Response:
    svc = service_of(request)
    try:
        product = await run_in_threadpool(svc.product, product_id)
    except ExchangeError as err:
        return _page(request, "catalog.html", 404, products=[], q="", error=err.detail)
    if not svc.may_see_product(product, principal_of(request)):
        return _page(request, "catalog.html", 404, products=[], q="", error="No such product.")
    entities: list[dict] = []
    if svc.may_preview(product, principal_of(request)):
        try:
            entities, _ = await svc.fetch_entities(product, limit=product["preview_size"])
        except Exception:  # the preview is best effort: the broker may be down
            entities = []
    columns, rows = _preview_table(entities[: product["preview_size"]])
    account = await run_in_threadpool(_account, request)
    subscription = None
    if account:
        live = [
            s
            for s in svc.list_subscriptions(account_id=account["id"])
            if s["product_id"] == product_id and s["status"] in ("pending", "active")
        ]
        subscription = live[0] if live else None
    return _page(
        request,
        "product.html",
        p=product,
        preview_columns=columns,
        preview_rows=rows,
        account=account,
        subscription=subscription,
    )


@router.post("/products/{product_id}/subscribe")
async def subscribe(product_id: str, request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    svc = service_of(request)
    try:
        if form is None:
            raise Forbidden(_FORGED)
        _may_manage(request)
        if form.get("accept") != "yes":
            raise InvalidInput("Tick the box to accept the terms before subscribing.")
        await run_in_threadpool(
            lambda: svc.subscribe(
                who.account_id,
                product_id,
                form.get("plan_id", ""),
                purpose=form.get("purpose", ""),
                terms_version=form.get("terms_version", ""),
            )
        )
    except ExchangeError as err:
        try:
            product = svc.product(product_id)
        except ExchangeError:
            return _page(request, "catalog.html", 404, products=[], q="", error=err.detail)
        return _page(
            request,
            "product.html",
            err.status,
            p=product,
            preview_columns=[],
            preview_rows=[],
            subscription=None,
            error=err.detail,
        )
    return RedirectResponse("/me", status_code=303)


# ---------------------------------------------------------------- accounts
@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return _page(request, "login.html", next=_safe_next(next))


def _start_session(request: Request, target: str, token: str, ttl: int) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, ttl)
    response.delete_cookie(CSRF_COOKIE, path="/")  # forms are now bound to the session
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    svc = service_of(request)
    if not csrf_ok(request, form):
        return _page(request, "login.html", 403, next=form.get("next"), error=_FORGED)
    try:
        account_id = await run_in_threadpool(
            lambda: svc.authenticate_password(
                form.get("email", ""),
                form.get("password", ""),
                client=request.client.host if request.client else "unknown",
            )
        )
    except ExchangeError as err:
        return _page(request, "login.html", err.status, next=form.get("next"), error=err.detail)
    token, ttl = svc.login_token(account_id)
    return _start_session(request, _safe_next(form.get("next")), token, ttl)


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return _page(request, "signup.html")


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await _form(request)
    svc = service_of(request)
    role = form.get("role", "buyer")
    if not csrf_ok(request, form):
        return _page(request, "signup.html", 403, error=_FORGED)

    def create() -> str:
        if role not in ("buyer", "provider"):
            raise InvalidInput("Choose buyer or provider.")
        org_id = None
        if role == "provider":
            if not form.get("organization"):
                raise InvalidInput("Providers must name their organisation.")
            org_id = svc.create_organization(form["organization"], kind="provider")
        return svc.create_account(
            form.get("email", ""),
            form.get("password", ""),
            name=form.get("name", ""),
            role=role,
            organization_id=org_id,
            verified=False,
        )

    try:
        account_id = await run_in_threadpool(create)
    except ExchangeError as err:
        return _page(request, "signup.html", err.status, error=err.detail)
    token, ttl = svc.login_token(account_id)
    return _start_session(request, "/", token, ttl)


@router.post("/logout")
async def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if await _checked_form(request) is None:
        return await run_in_threadpool(_me, request, 403, error=_FORGED)
    if token:
        service_of(request).revoke_token(token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- my account
def _me(request: Request, status: int = 200, **extra: Any) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    svc = service_of(request)
    return _page(
        request,
        "me.html",
        status,
        account=svc.account(who.account_id),
        subscriptions=_with_reasons(svc, svc.list_subscriptions(account_id=who.account_id)),
        credentials=svc.list_credentials(who.account_id),
        usage=svc.usage(who.account_id),
        bills=svc.bills(who.account_id),
        account_scopes=sorted(who.scopes),
        **extra,
    )


def _with_reasons(svc: Any, subscriptions: list[dict]) -> list[dict]:
    reasons = svc.decision_reasons([s["id"] for s in subscriptions if s["status"] == "rejected"])
    return [{**s, "reason": reasons.get(s["id"], "")} for s in subscriptions]


@router.get("/me")
def me(request: Request) -> Response:
    return _me(request)


@router.post("/me/credentials")
async def new_credential(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    form = await _checked_form(request)
    if form is None:
        return await run_in_threadpool(_me, request, 403, error=_FORGED)
    svc = service_of(request)
    label = form.get("label", "")[:200] or "portal"
    # the form lists the scopes as checkboxes; a client without them gets the default
    scopes = (await request.form()).getlist("scopes") if "scopes_field" in form else None
    try:
        _may_manage(request)
        if scopes is not None and not set(scopes) <= who.scopes:
            raise Forbidden("You cannot issue a credential with more scopes than you hold.")
        if form.get("kind") == "oauth_client":
            client_id, secret = svc.issue_oauth_client(who.account_id, label=label, scopes=scopes)
            shown = {"client_id": client_id, "client_secret": secret}
        else:
            _, key = svc.issue_api_key(who.account_id, label=label, scopes=scopes)
            shown = {"api_key": key}
    except ExchangeError as err:
        return await run_in_threadpool(_me, request, err.status, error=err.detail)
    return await run_in_threadpool(_me, request, 201, new_secret=shown)


@router.post("/me/credentials/{credential_id}/revoke")
async def revoke_credential(credential_id: str, request: Request) -> Response:
    if await _checked_form(request) is None:
        return await run_in_threadpool(_me, request, 403, error=_FORGED)
    return await run_in_threadpool(_revoke_credential, credential_id, request)


def _revoke_credential(credential_id: str, request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    try:
        _may_manage(request)
        service_of(request).revoke_credential(credential_id, by_account_id=who.account_id)
    except ExchangeError as err:
        return _me(request, err.status, error=err.detail)
    return RedirectResponse("/me", status_code=303)


@router.post("/me/subscriptions/{subscription_id}/cancel")
async def cancel_subscription(subscription_id: str, request: Request) -> Response:
    if await _checked_form(request) is None:
        return await run_in_threadpool(_me, request, 403, error=_FORGED)
    return await run_in_threadpool(_cancel_subscription, subscription_id, request)


def _cancel_subscription(subscription_id: str, request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    svc = service_of(request)
    try:
        _may_manage(request)
        if svc.subscription(subscription_id)["account_id"] != who.account_id:
            raise InvalidInput("That is not your subscription.")
        svc.cancel_subscription(subscription_id, by_account_id=who.account_id)
    except ExchangeError as err:
        return _me(request, err.status, error=err.detail)
    return RedirectResponse("/me", status_code=303)


# ---------------------------------------------------------------- provider
@router.get("/provider")
def provider(request: Request, notice: str | None = None, error: str | None = None) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    svc = service_of(request)
    if not who.organization_id:
        return _me(request, 403, error="The provider pages are for provider accounts.")
    subs = svc.list_subscriptions(organization_id=who.organization_id)
    pending = []
    for s in subs:
        if s["status"] == "pending":
            buyer = svc.account(s["account_id"])
            pending.append({**s, "buyer": f"{buyer['name']} <{buyer['email']}>"})
    revenue: dict[tuple[str, str], dict] = {}
    for b in svc.provider_bills(who.organization_id):
        row = revenue.setdefault(
            (b["month"], b["product_id"]),
            {
                "month": b["month"],
                "product_id": b["product_id"],
                "subscriptions": 0,
                "calls": 0,
                "amount_yen": 0,
            },
        )
        row["subscriptions"] += 1
        row["calls"] += b["calls"]
        row["amount_yen"] += b["amount_yen"]
    return _page(
        request,
        "provider.html",
        organization=svc.organization(who.organization_id),
        pending=pending,
        settlements=svc.settlements(who.organization_id),
        revenue=sorted(revenue.values(), key=lambda r: (r["month"], r["product_id"])),
        products=svc.list_products(organization_id=who.organization_id),
        notice=(notice or "")[:200] or None,
        error=(error or "")[:300] or None,
        subscribers=svc.subscribers(who.organization_id),
        listings={
            p["id"]: svc.listing(p["id"])
            for p in svc.list_products(organization_id=who.organization_id)
        },
    )


@router.post("/provider/subscriptions/{subscription_id}/approve")
async def approve(subscription_id: str, request: Request) -> Response:
    if await _checked_form(request) is None:
        return await run_in_threadpool(_me, request, 403, error=_FORGED)
    return await run_in_threadpool(_approve, subscription_id, request)


def _approve(subscription_id: str, request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return _login_redirect(request)
    try:
        _may_manage(request)
        service_of(request).approve_subscription(subscription_id, by_account_id=who.account_id)
    except ExchangeError as err:
        return _me(request, err.status, error=err.detail)
    return RedirectResponse(f"/provider?notice=Approved+{quote(subscription_id)}", status_code=303)
