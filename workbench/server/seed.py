"""``workbench seed``: load the Sapporo data products into an exchange's data directory.

Creates the providers, products (with licence, attribution, documentation and tutorial),
plans and terms of :mod:`workbench.datasets.catalog`; loads each product's entities into the
embedded broker (time series as NGSI history, with batch updates); creates the demo accounts
with their subscriptions, API keys and OAuth clients; and writes

- ``demo-credentials.json`` / ``demo-credentials.md``: the demo accounts and their secrets;
- ``seed-report.json``: what was loaded and how long it took (its presence means "seeded").

Seeding is idempotent: a seeded directory is left alone unless ``force=True``.

Examples
--------
>>> from workbench.server.seed import seed
>>> report = seed(".workbench")                     # doctest: +SKIP
>>> report["seconds"]                               # doctest: +SKIP
41.2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.server._files import private_dir, use_private_umask

if TYPE_CHECKING:  # the datasets (pandas, geopandas) load only when seeding
    from workbench.datasets import catalog

REPORT_FILE = "seed-report.json"
CREDENTIALS_FILE = "demo-credentials.json"
CREDENTIALS_MD = "demo-credentials.md"
_OWNED_FILES = (
    "exchange.db", "exchange.db-wal", "exchange.db-shm", "exchange.db-journal",
    "broker.db", "broker.db-wal", "broker.db-shm", "broker.db-journal",
    CREDENTIALS_FILE, CREDENTIALS_MD, REPORT_FILE,
)
BATCH_SIZE = 2000
DEFAULT_SEED = 20261126


def is_seeded(data_dir: str | os.PathLike[str]) -> bool:
    """Return True when ``data_dir`` holds a completed seed (``seed-report.json``)."""
    return (Path(data_dir) / REPORT_FILE).is_file()


def _remove_previous(data_dir: Path) -> None:
    for name in _OWNED_FILES:
        path = data_dir / name
        if path.exists():
            path.unlink()


def _load(broker, service: str, entities: Sequence[dict], *, product_id: str) -> None:
    from workbench.server.broker import NgsiError

    for start in range(0, len(entities), BATCH_SIZE):
        chunk = list(entities[start:start + BATCH_SIZE])
        try:
            broker.batch_update(service, "/", "append", chunk)
        except NgsiError as exc:
            raise RuntimeError(
                f"seeding {product_id!r}: the broker refused entities {start}..."
                f"{start + len(chunk) - 1} ({chunk[0].get('id')!r} ...): {exc}"
            ) from exc


def _product_documentation(spec: catalog.ProductSpec, body: str) -> str:
    licence, attribution = spec.licence_and_attribution()
    flag = "**SYNTHETIC data** — not real observations.\n\n" if spec.synthetic else ""
    return f"{flag}Licence: {licence}\n\nAttribution: {attribution}\n\n{body}"


def _create_product(svc, spec: catalog.ProductSpec, org_id: str, documentation: str) -> None:
    licence, attribution = spec.licence_and_attribution()
    svc.create_product(
        id=spec.id, organization_id=org_id, title=spec.title, description=spec.description,
        service=spec.service, entity_types=list(spec.entity_types), licence=licence,
        attribution=attribution, update_frequency=spec.update_frequency,
        restricted=spec.restricted, synthetic=spec.synthetic,
        documentation=_product_documentation(spec, documentation), tutorial=spec.tutorial,
    )
    for plan in spec.plans:
        svc.create_plan(
            spec.id, id=plan.id, name=plan.name, kind=plan.kind,
            price_per_1000_calls=plan.price_per_1000_calls, monthly_fee=plan.monthly_fee,
            monthly_quota=plan.monthly_quota, rate_limit_per_s=plan.rate_limit_per_s,
            trial_days=plan.trial_days, requires_approval=plan.requires_approval,
        )
    terms = spec.current_terms()
    svc.publish_terms(
        spec.id, version=terms.version, text=terms.text,
        permitted_purposes=list(terms.permitted_purposes),
        prohibitions=list(terms.prohibitions),
    )


def _create_accounts(svc, org_ids: dict[str, str], products: set[str],
                     *, password: str) -> list[dict]:
    from workbench.datasets import catalog

    accounts: dict[str, dict] = {}
    for demo in catalog.DEMO_ACCOUNTS:
        account_id = svc.create_account(
            demo.email, password, name=demo.name, role=demo.role,
            organization_id=org_ids[demo.provider] if demo.provider else None, verified=True,
        )
        if demo.kind == "trainer":  # runs workshop 05 too: a sandbox of its own (ADR 0140)
            svc.make_sandbox_provider(account_id, name="Workshop sandbox (demo trainer)")
        accounts[demo.kind] = {"demo": demo, "id": account_id}
    approvers = {demo.provider: accounts[demo.kind]["id"]
                 for demo in catalog.DEMO_ACCOUNTS if demo.provider}
    out = []
    for kind, entry in accounts.items():
        demo: catalog.DemoAccount = entry["demo"]
        subscribed = []
        for product_id, plan_id, purpose in demo.subscriptions:
            if product_id not in products:
                continue
            terms = svc.current_terms(product_id)
            sub_id = svc.subscribe(entry["id"], product_id, plan_id, purpose=purpose,
                                   terms_version=terms["version"])
            if svc.subscription(sub_id)["status"] == "pending":
                provider_key = catalog.product(product_id).provider
                svc.approve_subscription(sub_id, by_account_id=approvers[provider_key])
            subscribed.append({"product_id": product_id, "plan_id": plan_id,
                               "subscription_id": sub_id, "purpose": purpose})
        # the public dashboards' credentials only read data (docs/adr/0110)
        scopes = ["data:read"] if demo.role == "public" else None
        _, api_key = svc.issue_api_key(entry["id"], label=f"demo {kind} key", scopes=scopes)
        client_id, client_secret = svc.issue_oauth_client(
            entry["id"], label=f"demo {kind} client", scopes=scopes)
        out.append({
            "kind": kind, "role": kind, "account_role": svc.account(entry["id"])["role"],
            "account_id": entry["id"], "email": demo.email,
            "password": password, "name": demo.name,
            "organization": org_ids.get(demo.provider) if demo.provider else None,
            "api_key": api_key, "client_id": client_id, "client_secret": client_secret,
            "scopes": scopes or sorted(svc.scopes_of(api_key)),
            "subscriptions": subscribed, "description": demo.description,
        })
    return out


def _credentials_markdown(accounts: list[dict], data_dir: Path) -> str:
    lines = [
        "# Demo credentials (Sapporo Data Commons Workbench)",
        "",
        f"Written by `workbench seed` into `{data_dir}`. Demo only: anyone with this file can "
        "use these accounts. Log in to the portal with e-mail and password; call the API with "
        "`X-API-Key: <api key>` or an OAuth 2.0 client-credentials token "
        "(`POST /oauth2/token`).",
        "",
    ]
    for a in accounts:
        products = ", ".join(f"{s['product_id']} ({s['plan_id']})" for s in a["subscriptions"])
        lines += [
            f"## {a['kind']} — {a['name']}",
            "",
            a["description"],
            "",
            f"- e-mail: `{a['email']}`  password: `{a['password']}`  role: {a['account_role']}",
            f"- API key: `{a['api_key']}`  scopes: {' '.join(a['scopes'])}",
            f"- OAuth client: `{a['client_id']}` / `{a['client_secret']}`",
            f"- subscriptions: {products or 'none'}",
            "",
        ]
    return "\n".join(lines)


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        path.chmod(0o600)
    except OSError:  # pragma: no cover - e.g. some network file systems
        pass


def seed(
    data_dir: str | os.PathLike[str],
    *,
    sample_data: str | os.PathLike[str] | None = None,
    force: bool = False,
    seed: int = DEFAULT_SEED,
    products: Sequence[str] | None = None,
    n_participants: int = 3000,
    n_comparison: int = 3000,
    effect_steps: float = 1800.0,
    password: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed the Sapporo data products, demo accounts and credentials into ``data_dir``.

    Parameters
    ----------
    data_dir
        The exchange's data directory (``exchange.db``, ``broker.db`` ...), created if
        needed.
    sample_data
        Folder holding ``sapporo/`` (default: ``WORKBENCH_SAMPLE_DATA``, else
        ``../shared/data`` beside the repository).
    force
        Reseed: delete the exchange and broker databases, credentials and report first.
        Without it, a seeded directory is left as it is.
    seed
        Random seed of the synthetic products.
    products
        Product ids to load (default: all of :data:`workbench.datasets.catalog.PRODUCTS`).
    n_participants, n_comparison, effect_steps
        Size of the synthetic health-point programme and its true effect (steps a day).
    password
        Password of every demo account (default
        :data:`workbench.datasets.catalog.DEMO_PASSWORD`).
    progress
        Called with one line per step (default: print to stderr).

    Returns
    -------
    dict
        The report also written to ``seed-report.json``: ``seconds``, ``products``
        (per product: entities, history points, seconds), ``credentials`` (path) and
        ``skipped`` (True when the directory was already seeded).

    Raises
    ------
    FileNotFoundError
        When the sample data folder is missing (the message says how to point
        ``WORKBENCH_SAMPLE_DATA`` at it).
    RuntimeError
        When ``data_dir`` holds an exchange that was not made by a completed seed and
        ``force`` is not set.
    """
    from workbench.datasets import catalog
    from workbench.datasets._paths import sample_data_dir

    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    password = password or catalog.DEMO_PASSWORD
    data_dir = Path(data_dir).resolve()
    if is_seeded(data_dir) and not force:
        report = json.loads((data_dir / REPORT_FILE).read_text(encoding="utf-8"))
        report["skipped"] = True
        say(f"{data_dir} is already seeded (use --force to reseed).")
        return report
    sample_root = sample_data_dir(sample_data)  # fail early with a clear message
    if not force and any((data_dir / n).exists() for n in ("exchange.db", "broker.db")):
        raise RuntimeError(
            f"{data_dir} holds an exchange that was not made by a completed seed (no "
            f"{REPORT_FILE}). Reseed it with `workbench seed --force --data-dir {data_dir}` "
            "(this deletes its accounts and data), or choose another --data-dir."
        )
    wanted = [p.id for p in catalog.PRODUCTS] if products is None else list(products)
    specs = [catalog.product(pid) for pid in wanted]
    data_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous(data_dir)

    from workbench.server.exchange.service import ExchangeService

    started = time.perf_counter()
    ctx = catalog.BuildContext(sample_data=sample_root, seed=seed,
                               n_participants=n_participants, n_comparison=n_comparison,
                               effect_steps=effect_steps)
    svc = ExchangeService.open(data_dir)
    try:
        svc.create_organization("Sapporo Data Commons (platform)", kind="platform",
                                description="Operates the exchange.")
        org_ids = {p.key: svc.create_organization(p.name, kind=p.kind,
                                                  description=p.description)
                   for p in catalog.PROVIDERS}
        product_reports: dict[str, dict] = {}
        for spec in specs:
            t0 = time.perf_counter()
            built = spec.build(ctx)
            _create_product(svc, spec, org_ids[spec.provider], built.documentation)
            _load(svc.broker, spec.service, built.entities, product_id=spec.id)
            _load(svc.broker, spec.service, built.history, product_id=spec.id)
            quality = svc.refresh_quality(spec.id)
            seconds = round(time.perf_counter() - t0, 2)
            product_reports[spec.id] = {
                "service": spec.service, "entities": len(built.entities),
                "history_updates": len(built.history), "seconds": seconds,
                "synthetic": spec.synthetic, "restricted": spec.restricted,
                "quality": quality,
            }
            say(f"  {spec.id:<30} {len(built.entities):>7,} entities "
                f"{len(built.history):>8,} history updates  {seconds:6.1f} s")
        accounts = _create_accounts(svc, org_ids, set(wanted), password=password)
    finally:
        svc.close()
        broker = getattr(svc, "_broker", None)
        if broker is not None:
            broker.store.close()

    credentials = {"data_dir": str(data_dir), "password_note": "demo accounts only",
                   "accounts": accounts}
    _write_private(data_dir / CREDENTIALS_FILE,
                   json.dumps(credentials, ensure_ascii=False, indent=2))
    _write_private(data_dir / CREDENTIALS_MD, _credentials_markdown(accounts, data_dir))
    seconds = round(time.perf_counter() - started, 1)
    report = {
        "seconds": seconds, "seed": seed, "sample_data": str(sample_root),
        "n_participants": n_participants, "n_comparison": n_comparison,
        "effect_steps": effect_steps, "products": product_reports,
        "credentials": str(data_dir / CREDENTIALS_FILE), "skipped": False,
    }
    (data_dir / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str),
                                        encoding="utf-8")
    private_dir(data_dir)  # 0700, every file 0600
    say(f"Seeded {len(specs)} products in {seconds:.1f} s; demo credentials: "
        f"{data_dir / CREDENTIALS_MD}")
    return report


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "seed", help="(re)seed the Sapporo data products and demo accounts",
        description="Load the Sapporo products, demo accounts and credentials into an "
                    "exchange data directory (skipped when already seeded; --force reseeds).",
    )
    p.add_argument("--data-dir", default=".workbench")
    p.add_argument("--force", action="store_true",
                   help="delete the exchange's databases and credentials, then reseed")
    p.add_argument("--sample-data", default=None,
                   help="folder holding sapporo/ (default: $WORKBENCH_SAMPLE_DATA or "
                        "../shared/data)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed of the "
                   "synthetic products")
    p.add_argument("--products", default=None,
                   help="comma-separated product ids (default: all)")
    p.add_argument("--participants", type=int, default=3000,
                   help="health-point participants (default 3000)")
    p.add_argument("--comparison", type=int, default=3000,
                   help="non-participants in the comparison group (default 3000)")
    p.add_argument("--effect-steps", type=float, default=1800.0,
                   help="true programme effect in steps a day (default 1800; 0 allowed)")
    p.set_defaults(func=_seed)


def _seed(args: argparse.Namespace) -> int:
    use_private_umask()
    try:
        seed(
            args.data_dir, sample_data=args.sample_data, force=args.force, seed=args.seed,
            products=args.products.split(",") if args.products else None,
            n_participants=args.participants, n_comparison=args.comparison,
            effect_steps=args.effect_steps,
        )
    except (FileNotFoundError, RuntimeError, KeyError) as exc:
        print(f"workbench seed: {exc}", file=sys.stderr)
        return 2
    return 0
