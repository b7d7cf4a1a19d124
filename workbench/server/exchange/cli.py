"""``workbench serve``, ``workbench users`` and ``workbench products``."""

from __future__ import annotations

import argparse
import csv
import logging
import secrets
import sys
from pathlib import Path


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the exchange with the embedded broker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", default=".workbench")
    p.add_argument(
        "--commission", default="0.10", help="platform commission on revenue (default 0.10)"
    )
    p.add_argument(
        "--access-log", action="store_true", help="log every request (paths only, no secrets)"
    )
    p.add_argument(
        "--allow-upstream",
        action="append",
        default=[],
        metavar="HOST",
        help="let products use brokers on HOST (name, *.domain, IP, CIDR or '*'; repeatable; "
        "also $WORKBENCH_ALLOW_UPSTREAM). Loopback and private addresses need their address "
        "or range listed. Default: no upstream brokers.",
    )
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="served over HTTPS (behind a TLS proxy): Secure cookies and HSTS",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="addresses of reverse proxies whose X-Forwarded-For is trusted (comma-separated); "
        "by default it is ignored, so clients cannot pose as others to the log-in throttle",
    )
    p.set_defaults(func=_serve)

    users = subparsers.add_parser("users", help="manage exchange accounts (admins, trainers)")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = users_sub.add_parser("create", help="create one account; prints its id")
    create.add_argument("--data-dir", default=".workbench")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", default="buyer", choices=["buyer", "provider", "admin"])
    create.add_argument("--password", help="default: a random one, printed once")
    create.add_argument("--organization-id")
    create.set_defaults(func=_users_create)

    ws = users_sub.add_parser(
        "create-workshop",
        help="create N participants with everything the workshop notebooks need; prints CSV",
        description="Create N verified participants, each subscribed to every product the "
        "workshop notebooks query (read from the notebooks) and with a sandbox provider "
        "organisation for the publishing notebook. Prints CSV (LF line endings).",
    )
    ws.add_argument("--data-dir", default=".workbench")
    ws.add_argument("--count", type=int, default=30)
    ws.add_argument("--prefix", default="ws")
    ws.add_argument("--domain", default="workshop.example")
    ws.add_argument(
        "--subscribe",
        action="append",
        default=[],
        metavar="PRODUCT:PLAN",
        help="also subscribe every account, or choose the plan of a needed product "
        "(repeatable; accepts the current terms)",
    )
    ws.add_argument("--purpose", default="education: data-commons workshop")
    ws.add_argument("--notebooks", help="the workshop folder (default: notebooks/workshop)")
    ws.add_argument(
        "--key-scopes",
        default=None,
        help="scopes of the participants' API keys (space-separated; default lets them read "
        "data and subscribe, and write to their sandbox when a notebook publishes; "
        "'data:read' makes read-only keys)",
    )
    ws.set_defaults(func=_users_workshop)

    cw = users_sub.add_parser(
        "check-workshop",
        help="check every participant against every workshop notebook's needs",
    )
    cw.add_argument("--data-dir", default=".workbench")
    cw.add_argument("--prefix", default="ws")
    cw.add_argument("--domain", help="default: any")
    cw.add_argument("--notebooks", help="the workshop folder (default: notebooks/workshop)")
    cw.add_argument("--fix", action="store_true", help="add missing subscriptions")
    cw.add_argument("--purpose", default="education: data-commons workshop")
    cw.set_defaults(func=_users_check_workshop)

    vr = users_sub.add_parser(
        "verification-requests", help="list, approve or reject buyers' verification requests"
    )
    vr.add_argument("--data-dir", default=".workbench")
    vr.add_argument("--approve", metavar="REQUEST_ID")
    vr.add_argument("--reject", metavar="REQUEST_ID")
    vr.add_argument("--reason", default="", help="why a request is rejected (the buyer reads it)")
    vr.set_defaults(func=_users_verification_requests)

    verify = users_sub.add_parser("verify", help="mark accounts verified (restricted products)")
    verify.add_argument("email", nargs="+")
    verify.add_argument("--data-dir", default=".workbench")
    verify.set_defaults(func=_users_verify)

    ls = users_sub.add_parser("list", help="list accounts as CSV")
    ls.add_argument("--data-dir", default=".workbench")
    ls.set_defaults(func=_users_list)

    products = subparsers.add_parser("products", help="inspect and maintain API products")
    products_sub = products.add_subparsers(dest="products_command", metavar="ACTION", required=True)
    pl = products_sub.add_parser("list", help="list products as CSV")
    pl.add_argument("--data-dir", default=".workbench")
    pl.set_defaults(func=_products_list)
    pq = products_sub.add_parser("refresh-quality", help="recompute quality figures")
    pq.add_argument("product_id", nargs="*", help="default: every product")
    pq.add_argument("--data-dir", default=".workbench")
    pq.set_defaults(func=_products_quality)
    from .cli_products import add_product_commands

    add_product_commands(products_sub)


def _service(args: argparse.Namespace):
    from .service import ExchangeService

    return ExchangeService.open(Path(args.data_dir))


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from workbench.server._files import use_private_umask
    from workbench.server._gc import tune_gc_for_serving, tune_gil_for_serving
    from workbench.server.upstream import UpstreamPolicy

    from .app import create_exchange_app

    use_private_umask()
    try:
        policy = UpstreamPolicy.from_env(extra=args.allow_upstream)
    except ValueError as exc:
        raise SystemExit(f"workbench serve: --allow-upstream: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_exchange_app(
        Path(args.data_dir),
        commission=args.commission,
        secure_cookies=args.secure_cookies,
        upstream_policy=policy,
    )
    _ = app.state.service.broker_app  # open the embedded broker before the heap is frozen
    tune_gc_for_serving()
    tune_gil_for_serving()
    print(f"workbench serve: exchange on http://{args.host}:{args.port} (data in {args.data_dir})")
    sys.stdout.flush()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        proxy_headers=args.forwarded_allow_ips is not None,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return 0


def _users_create(args: argparse.Namespace) -> int:
    svc = _service(args)
    password = args.password or secrets.token_urlsafe(12)
    account_id = svc.create_account(
        args.email,
        password,
        name=args.name,
        role=args.role,
        organization_id=args.organization_id,
        verified=True,
    )
    writer = csv.writer(sys.stdout)
    writer.writerow(["account_id", "email", "password"])
    writer.writerow([account_id, args.email, password if not args.password else "(as given)"])
    return 0


def _users_workshop(args: argparse.Namespace) -> int:
    from .classroom import create_class

    svc = _service(args)
    extra = []
    for item in args.subscribe:
        product_id, sep, plan_id = item.partition(":")
        if not sep:
            raise SystemExit(f"--subscribe expects PRODUCT:PLAN, got {item!r}")
        if svc.current_terms(product_id) is None:
            raise SystemExit(f"product {product_id!r} has no terms to accept")
        extra.append((product_id, plan_id))
    return create_class(
        svc,
        count=args.count,
        prefix=args.prefix,
        domain=args.domain,
        purpose=args.purpose,
        extra=extra,
        notebooks=args.notebooks,
        key_scopes=args.key_scopes,
        out=sys.stdout,
        err=sys.stderr,
    )


def _users_check_workshop(args: argparse.Namespace) -> int:
    from .classroom import check_class

    return check_class(
        _service(args),
        prefix=args.prefix,
        domain=args.domain,
        notebooks=args.notebooks,
        fix=args.fix,
        purpose=args.purpose,
        out=sys.stdout,
    )


def _users_verification_requests(args: argparse.Namespace) -> int:
    svc = _service(args)
    if args.approve or args.reject:
        decided = svc.decide_verification(
            args.approve or args.reject,
            approve=bool(args.approve),
            reason=args.reason,
            by_account_id=None,
        )
        print(f"{decided['id']} {decided['status']}: {decided['email']}")
        return 0
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "email", "organisation", "contact", "intended_use", "created_at"])
    for r in svc.verification_requests(status="pending"):
        keys = ("id", "email", "organisation", "contact", "intended_use", "created_at")
        writer.writerow([r[k] for k in keys])
    return 0


def _users_verify(args: argparse.Namespace) -> int:
    svc = _service(args)
    missing = []
    for email in args.email:
        account_id = svc.account_id_for_email(email)
        if account_id is None:
            missing.append(email)
            continue
        svc.verify_account(account_id, by_account_id=None)
        print(f"verified {email}")
    if missing:
        print(f"no account for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from . import db

    svc = _service(args)
    writer = csv.writer(sys.stdout)
    cols = ["id", "email", "name", "role", "organization_id", "verified", "created_at"]
    writer.writerow(cols)
    with svc.engine.connect() as conn:
        for row in conn.execute(select(*(db.accounts.c[c] for c in cols))):
            writer.writerow(row)
    return 0


def _products_list(args: argparse.Namespace) -> int:
    svc = _service(args)
    writer = csv.writer(sys.stdout)
    writer.writerow(["id", "service", "provider", "restricted", "synthetic", "plans", "title"])
    for p in svc.list_products(include_unlisted=True):
        plans = " ".join(pl["id"] for pl in p["plans"])
        writer.writerow(
            [
                p["id"],
                p["service"],
                p["provider"],
                p["restricted"],
                p["synthetic"],
                plans,
                p["title"],
            ]
        )
    return 0


def _products_quality(args: argparse.Namespace) -> int:
    svc = _service(args)
    ids = args.product_id or [p["id"] for p in svc.list_products(include_unlisted=True)]
    for product_id in ids:
        q = svc.refresh_quality(product_id)
        print(f"{product_id}: {q['entity_count']} entities, completeness {q['completeness']}")
    return 0
