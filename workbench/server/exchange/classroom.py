"""Workshop accounts for a class: create them with everything the series needs, and check
them before the session (``workbench users create-workshop`` / ``check-workshop``).

What "everything" is comes from the notebooks (:mod:`workbench.workshop`, ADR 0140): each
participant is subscribed to every product a notebook queries but does not subscribe to
itself, and gets a sandbox provider organisation of their own for the publishing notebook.
"""

from __future__ import annotations

import csv
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select

from workbench.workshop import NotebookNeeds, workshop_needs

from . import db
from .errors import ExchangeError
from .service import ExchangeService

CSV_COLUMNS = ("email", "password", "account_id", "api_key", "sandbox_organization")


@dataclass(frozen=True)
class Grant:
    """A subscription every participant gets: product, plan and the notebooks needing it."""

    product_id: str
    plan_id: str
    notebooks: tuple[str, ...]


def free_plan(svc: ExchangeService, product_id: str) -> str | None:
    """The id of a product's free plan that needs no approval, or None."""
    for plan in svc.plans(product_id):
        if plan["kind"] == "free" and not plan["requires_approval"]:
            return plan["id"]
    return None


def plan_grants(
    svc: ExchangeService,
    needs: dict[str, NotebookNeeds],
    extra: list[tuple[str, str]] = (),
) -> list[Grant]:
    """The subscriptions every participant needs, with the plan for each.

    Raises
    ------
    SystemExit
        A needed product does not exist, or has no free plan and no ``extra`` plan for it —
        the message names the notebook and the fix.
    """
    by_product: dict[str, list[str]] = {}
    for name, nb in sorted(needs.items()):
        for product_id in sorted(nb.needs):
            by_product.setdefault(product_id, []).append(name)
    chosen = dict(extra)
    for product_id in chosen:
        by_product.setdefault(product_id, [])
    grants = []
    for product_id, notebooks in sorted(by_product.items()):
        try:
            svc.product(product_id)
        except ExchangeError:
            raise SystemExit(
                f"notebook(s) {', '.join(notebooks)} query product {product_id!r}, which this "
                "exchange does not have: seed it (workbench seed) or change the notebook"
            ) from None
        plan = chosen.get(product_id) or free_plan(svc, product_id)
        if plan is None:
            raise SystemExit(
                f"notebook(s) {', '.join(notebooks)} query {product_id!r}, which has no free "
                f"plan: choose one with --subscribe {product_id}:PLAN"
            )
        grants.append(Grant(product_id, plan, tuple(notebooks)))
    return grants


def create_class(
    svc: ExchangeService,
    *,
    count: int,
    prefix: str,
    domain: str,
    purpose: str,
    extra: list[tuple[str, str]],
    notebooks: str | Path | None,
    out: IO[str],
    err: IO[str],
    key_scopes: str | None = None,
) -> int:
    """Create ``count`` participants and write their CSV (LF line endings) to ``out``."""
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,20}", prefix):
        raise SystemExit(f"--prefix {prefix!r} must be 1-21 lower-case letters, digits or '-'")
    needs = workshop_needs(notebooks)
    grants = plan_grants(svc, needs, extra)
    publishes = [n for n, nb in sorted(needs.items()) if nb.publishes]
    if key_scopes is None:  # what the series needs: read, subscribe, and publish if it does
        key_scopes = "data:read account:read account:manage" + (" data:write" if publishes else "")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    width = max(2, len(str(count)))
    for i in range(1, count + 1):
        handle = f"{prefix}{i:0{width}d}"
        email = f"{handle}@{domain}"
        password = secrets.token_urlsafe(9)
        org_id = None
        if publishes:
            org_id = svc.create_sandbox_organization(f"Workshop sandbox {handle}@{domain}")
        account_id = svc.create_account(
            email,
            password,
            name=handle,
            role="provider" if org_id else "buyer",
            organization_id=org_id,
            verified=True,
        )
        for grant in grants:
            version = svc.current_terms(grant.product_id)["version"]
            sub = svc.subscribe(
                account_id, grant.product_id, grant.plan_id, purpose=purpose, terms_version=version
            )
            if svc.subscription(sub)["status"] != "active":
                print(
                    f"note: {email}'s subscription to {grant.product_id} awaits approval", file=err
                )
        _, key = svc.issue_api_key(account_id, label="workshop", scopes=key_scopes)
        writer.writerow([email, password, account_id, key, org_id or ""])
    print(
        f"created {count} participant(s); each is subscribed to "
        f"{', '.join(f'{g.product_id}:{g.plan_id}' for g in grants) or 'nothing'}"
        + (
            f" and has a sandbox provider organisation (for {', '.join(publishes)})"
            if publishes
            else ""
        ),
        file=err,
    )
    return 0


@dataclass
class Finding:
    """One problem of one participant, with the fix."""

    email: str
    notebooks: tuple[str, ...]
    problem: str
    fix: str


def check_class(
    svc: ExchangeService,
    *,
    prefix: str,
    domain: str | None,
    notebooks: str | Path | None,
    fix: bool,
    purpose: str,
    out: IO[str],
) -> int:
    """Check every participant ``prefix*`` against what every notebook needs.

    Prints one line per participant (``ok`` or the problems and their fixes) and returns
    the exit code: 0 when the whole class is ready, 1 otherwise. With ``fix``, missing
    subscriptions are added and buyers get a sandbox organisation (other problems are
    only reported).
    """
    needs = workshop_needs(notebooks)
    grants = plan_grants(svc, needs)
    publishes = tuple(n for n, nb in sorted(needs.items()) if nb.publishes)
    pattern = re.compile(
        rf"^{re.escape(prefix)}\d+@" + (re.escape(domain) if domain else ".+") + "$"
    )
    with svc.engine.connect() as conn:
        rows = conn.execute(
            select(db.accounts.c.id, db.accounts.c.email).order_by(db.accounts.c.email)
        )
        accounts = [(r[0], r[1]) for r in rows if pattern.match(r[1])]
    if not accounts:
        print(
            f"no participant accounts {prefix}NN@{domain or '*'}: create them with "
            f"workbench users create-workshop --prefix {prefix}",
            file=out,
        )
        return 1
    findings: list[Finding] = []
    for account_id, email in accounts:
        mine: list[Finding] = []
        account = svc.account(account_id)
        keys = [c for c in svc.list_credentials(account_id) if not c.get("revoked_at")]
        if not keys:
            mine.append(
                Finding(
                    email,
                    (),
                    "has no valid API key",
                    "issue one: log in to the portal (My account) or recreate the account",
                )
            )
        for grant in grants:
            if svc.entitlement(account_id, grant.product_id) is not None:
                continue
            if fix:
                version = svc.current_terms(grant.product_id)["version"]
                try:
                    svc.subscribe(
                        account_id,
                        grant.product_id,
                        grant.plan_id,
                        purpose=purpose,
                        terms_version=version,
                    )
                    continue
                except ExchangeError as exc:
                    detail = f" ({exc.detail})"
            else:
                detail = ""
            mine.append(
                Finding(
                    email,
                    grant.notebooks,
                    f"no active subscription to {grant.product_id}{detail}",
                    f"workbench users check-workshop --prefix {prefix} --fix",
                )
            )
        if publishes:
            org = account["organization_id"] and svc.organization(account["organization_id"])
            if fix and account["role"] == "buyer" and not org:
                svc.make_sandbox_provider(account_id, name=f"Workshop sandbox {email}")
            elif account["role"] != "provider" or not org:
                mine.append(
                    Finding(
                        email,
                        publishes,
                        "is not a provider (cannot create a product)",
                        "create the class with workbench users create-workshop, "
                        "which gives each participant a sandbox organisation",
                    )
                )
        if mine:
            for f in mine:
                where = f" [{', '.join(f.notebooks)}]" if f.notebooks else ""
                print(f"{email}: {f.problem}{where} — fix: {f.fix}", file=out)
        else:
            print(f"{email}: ok", file=out)
        findings += mine
    ready = len(accounts) - len({f.email for f in findings})
    print(
        f"{ready} of {len(accounts)} participant(s) ready for notebooks {', '.join(sorted(needs))}",
        file=out,
    )
    return 0 if not findings else 1
