"""``workbench products create`` and ``workbench products review`` (the local administrator).

Examples
--------
::

    workbench products create bench-survey --provider "City of Sapporo" \\
        --title "Benches (survey)" --licence "CC BY 4.0" --attribution "City of Sapporo" \\
        --entity-type PointOfInterest --plan open:free,rate=20 \\
        --plan pro:metered,price=200,quota=100000,rate=10,trial=30 \\
        --terms-version 1.0 --terms-text "Any purpose, with attribution." \\
        --purpose any --prohibit removing_attribution
    workbench products review                       # the products waiting for review
    workbench products review --approve bench-survey
    workbench products review --reject bench-survey --reason "Licence unclear"
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from .errors import ExchangeError

_PLAN_KEYS = {
    "price": "price_per_1000_calls",
    "fee": "monthly_fee",
    "quota": "monthly_quota",
    "rate": "rate_limit_per_s",
    "trial": "trial_days",
}


def parse_plan(spec: str) -> dict[str, Any]:
    """``ID:KIND[,price=N][,fee=N][,quota=N][,rate=N][,trial=N][,approval][,name=TEXT]``.

    Raises
    ------
    SystemExit
        A malformed spec, with the expected form.
    """
    head, *options = spec.split(",")
    plan_id, sep, kind = head.partition(":")
    form = "ID:KIND[,price=YEN][,fee=YEN][,quota=CALLS][,rate=PER_S][,trial=DAYS][,approval]"
    if not sep or not plan_id or kind not in ("free", "metered", "monthly"):
        raise SystemExit(f"--plan {spec!r}: expected {form} with KIND free, metered or monthly")
    plan: dict[str, Any] = {"id": plan_id, "name": plan_id, "kind": kind}
    for option in options:
        key, _, value = option.partition("=")
        key = key.strip()
        if key == "approval":
            plan["requires_approval"] = True
        elif key == "name":
            plan["name"] = value
        elif key in _PLAN_KEYS:
            try:
                plan[_PLAN_KEYS[key]] = int(value)
            except ValueError:
                raise SystemExit(f"--plan {spec!r}: {key} must be a whole number") from None
        else:
            raise SystemExit(f"--plan {spec!r}: unknown option {key!r}; expected {form}")
    return plan


def add_product_commands(products_sub: argparse._SubParsersAction) -> None:
    """Register ``products create`` and ``products review``."""
    pc = products_sub.add_parser(
        "create", help="create a product with its plans and terms (listed at once)"
    )
    pc.add_argument("product_id")
    pc.add_argument("--data-dir", default=".workbench")
    pc.add_argument("--provider", required=True, help="the provider organisation (name or id)")
    pc.add_argument("--title", required=True)
    pc.add_argument("--licence", required=True, help="e.g. 'CC BY 4.0'")
    pc.add_argument("--attribution", required=True, help="who users must credit")
    pc.add_argument("--description", default="")
    pc.add_argument("--service", help="the NGSI Fiware-Service (default: from the id)")
    pc.add_argument("--entity-type", action="append", default=[], dest="entity_types")
    pc.add_argument("--update-frequency", default="")
    pc.add_argument("--upstream-url", help="the provider's own NGSI v2 broker, if any")
    pc.add_argument("--restricted", action="store_true")
    pc.add_argument("--synthetic", action="store_true")
    pc.add_argument(
        "--plan", action="append", default=[], help="ID:KIND[,price=..][,quota=..][,rate=..]..."
    )
    pc.add_argument("--terms-version", default="1.0")
    pc.add_argument("--terms-text", required=True)
    pc.add_argument("--purpose", action="append", default=[], help="a permitted purpose")
    pc.add_argument("--prohibit", action="append", default=[], help="a prohibition")
    pc.set_defaults(func=_products_create)

    pr = products_sub.add_parser("review", help="list, approve or reject products in review")
    pr.add_argument("--data-dir", default=".workbench")
    pr.add_argument("--approve", metavar="PRODUCT_ID")
    pr.add_argument("--reject", metavar="PRODUCT_ID")
    pr.add_argument("--reason", default="", help="why (the provider reads it)")
    pr.set_defaults(func=_products_review)


def _service(args: argparse.Namespace):
    from .service import ExchangeService

    return ExchangeService.open(Path(args.data_dir))


def _organization_id(svc, name_or_id: str) -> str:
    for org in svc.list_organizations():
        if name_or_id in (org["id"], org["name"]):
            return org["id"]
    names = ", ".join(repr(o["name"]) for o in svc.list_organizations())
    raise SystemExit(f"no organisation {name_or_id!r}; the organisations are: {names}")


def _products_create(args: argparse.Namespace) -> int:
    svc = _service(args)
    plans = [parse_plan(p) for p in args.plan]
    product = {
        "id": args.product_id,
        "title": args.title,
        "licence": args.licence,
        "attribution": args.attribution,
        "description": args.description,
        "service": args.service,
        "entity_types": args.entity_types,
        "update_frequency": args.update_frequency,
        "upstream_url": args.upstream_url,
        "restricted": args.restricted,
        "synthetic": args.synthetic,
    }
    terms = {
        "version": args.terms_version,
        "text": args.terms_text,
        "permitted_purposes": args.purpose,
        "prohibitions": args.prohibit,
    }
    try:
        made = svc.offer_product(
            None,
            product=product,
            plans=plans,
            terms=terms,
            organization_id=_organization_id(svc, args.provider),
        )
    except ExchangeError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    print(
        f"created {made['id']} (Fiware-Service {made['service']}, plans "
        f"{', '.join(p['id'] for p in made['plans'])}, terms {made['terms']['version']}): "
        f"{svc.listing(made['id'])['status']}"
    )
    return 0


def _products_review(args: argparse.Namespace) -> int:
    svc = _service(args)
    target = args.approve or args.reject
    if target:
        try:
            decided = svc.decide_listing(
                target, approve=bool(args.approve), reason=args.reason, by_account_id=None
            )
        except ExchangeError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        print(f"{target}: {decided['status']}")
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["product_id", "provider", "title", "requested_at"])
    for r in svc.listing_queue():
        writer.writerow(
            [r["product_id"], r["product"]["provider"], r["product"]["title"], r["requested_at"]]
        )
    return 0
