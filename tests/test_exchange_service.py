"""The exchange's business layer in-process (the API the seeder uses)."""

from __future__ import annotations

import pytest
import sqlalchemy

from workbench.server.exchange import db
from workbench.server.exchange.errors import Conflict, Forbidden, InvalidInput, NotFound
from workbench.server.exchange.service import ExchangeService


@pytest.fixture
def svc(tmp_path):
    service = ExchangeService.open(tmp_path)
    org = service.create_organization("Provider Inc")
    service.org = org
    service.create_product(
        id="p1",
        organization_id=org,
        title="P1",
        description="d",
        service="p1",
        entity_types=["T"],
        licence="CC0",
        attribution="a",
        update_frequency="daily",
    )
    service.create_plan("p1", id="free", name="Free", kind="free")
    service.publish_terms("p1", version="1", text="t", permitted_purposes=["x"], prohibitions=[])
    yield service
    service.close()


def test_passwords_are_argon2id_hashes_and_checked(svc):
    account = svc.create_account("u@example.org", "s3cret-pass", name="U", role="buyer")
    with svc.engine.connect() as conn:
        stored = conn.execute(sqlalchemy.select(db.accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    assert svc.authenticate_password("U@example.org ", "s3cret-pass") == account
    with pytest.raises(Exception, match="Wrong e-mail or password"):
        svc.authenticate_password("u@example.org", "nope")


def test_keys_are_stored_as_keyed_hashes_and_revocation_is_immediate(svc):
    account = svc.create_account("k@example.org", "s3cret-pass", name="K", role="buyer")
    cred_id, key = svc.issue_api_key(account, label="nb")
    assert svc.authenticate(key).account_id == account  # now cached
    with svc.engine.connect() as conn:
        hashes = conn.execute(sqlalchemy.select(db.credentials.c.secret_hash)).scalars().all()
    assert key not in hashes and len(hashes[0]) == 64
    svc.revoke_credential(cred_id, by_account_id=account)
    assert svc.authenticate(key) is None


def test_the_audit_log_is_append_only(svc):
    svc.create_account("a@example.org", "s3cret-pass", name="A", role="buyer")
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        with svc.engine.begin() as conn:
            conn.execute(db.audit.update().values(action="forged"))
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        with svc.engine.begin() as conn:
            conn.execute(db.audit.delete())


def test_subscription_rules(svc):
    buyer = svc.create_account("b@example.org", "s3cret-pass", name="B", role="buyer")
    with pytest.raises(InvalidInput, match="current terms version '1'"):
        svc.subscribe(buyer, "p1", "free", purpose="study", terms_version="0")
    with pytest.raises(InvalidInput, match="purpose"):
        svc.subscribe(buyer, "p1", "free", purpose=" ", terms_version="1")
    with pytest.raises(NotFound):
        svc.subscribe(buyer, "p1", "gold", purpose="study", terms_version="1")
    sub = svc.subscribe(buyer, "p1", "free", purpose="study", terms_version="1")
    assert svc.subscription(sub)["status"] == "active"
    assert svc.entitlement(buyer, "p1").subscription_id == sub
    with pytest.raises(Conflict):
        svc.subscribe(buyer, "p1", "free", purpose="again", terms_version="1")
    with pytest.raises(Forbidden):
        svc.suspend_subscription(sub, by_account_id=buyer)
    svc.cancel_subscription(sub, by_account_id=buyer)
    assert svc.entitlement(buyer, "p1") is None


def test_catalog_validation_names_what_is_wrong(svc):
    with pytest.raises(InvalidInput, match="service 'Bad Name!'"):
        svc.create_product(
            id="p2",
            organization_id=svc.org,
            title="t",
            description="d",
            service="Bad Name!",
            entity_types=[],
            licence="l",
            attribution="a",
            update_frequency="f",
        )
    with pytest.raises(Conflict, match="Fiware-Service 'p1'"):
        svc.create_product(
            id="p3",
            organization_id=svc.org,
            title="t",
            description="d",
            service="p1",
            entity_types=[],
            licence="l",
            attribution="a",
            update_frequency="f",
        )
    with pytest.raises(InvalidInput, match="kind"):
        svc.create_plan("p1", id="x", name="X", kind="gold")
    assert [p["id"] for p in svc.list_products("P1")] == ["p1"]
    assert svc.list_products("nothing-like-this") == []


def test_quality_is_computed_from_the_broker(svc):
    svc.broker.batch_update(
        "p1",
        "/",
        "append",
        [
            {
                "id": "e1",
                "type": "T",
                "a": {"type": "Number", "value": 1},
                "dateObserved": {"type": "DateTime", "value": "2026-11-01T00:00:00Z"},
            },
            {"id": "e2", "type": "T", "a": {"type": "Number", "value": None}},
        ],
    )
    quality = svc.refresh_quality("p1")
    assert quality["entity_count"] == 2
    assert quality["completeness"] == 0.5  # 2 of 4 (attr, dateObserved) values present
    assert quality["freshness"]["latest"].startswith("2026-11-01")
    assert svc.product("p1")["quality"]["entity_count"] == 2


def test_monthly_fees_are_billed_every_month_and_settled_exactly(svc):
    from datetime import UTC, datetime

    svc.create_plan("p1", id="monthly", name="Monthly", kind="monthly", monthly_fee=3333)
    buyer = svc.create_account("m@example.org", "s3cret-pass", name="M", role="buyer")
    sub = svc.subscribe(buyer, "p1", "monthly", purpose="dashboard", terms_version="1")
    now = datetime.now(UTC)
    two_months_ago = (
        f"{now.year - (now.month <= 2)}-{(now.month - 3) % 12 + 1:02d}-15T00:00:00+00:00"
    )
    with svc.engine.begin() as conn:
        conn.execute(
            db.subscriptions.update()
            .where(db.subscriptions.c.id == sub)
            .values(approved_at=two_months_ago, created_at=two_months_ago)
        )
        conn.execute(
            db.usage.insert().values(
                subscription_id=sub, day=two_months_ago[:10], calls=5, entities=50, bytes=500
            )
        )
    bills = svc.bills(buyer)
    assert [b["status"] for b in bills] == ["final", "final", "open"]
    assert [b["amount_yen"] for b in bills] == [3333, 3333, 3333]
    assert bills[0]["calls"] == 5
    [s1, s2, s3] = svc.settlements(svc.org)
    for s in (s1, s2, s3):
        assert s["gross_yen"] == 3333 and s["platform_yen"] == 333 and s["provider_yen"] == 3000
    actions = [e["action"] for e in svc.audit_log(buyer)]
    assert actions.count("bill.issued") == 2


def test_repeated_failed_log_ins_are_throttled(svc):
    from workbench.server.exchange.errors import TooManyAttempts, Unauthorized

    svc.create_account("t@example.org", "s3cret-pass", name="T", role="buyer")
    for _ in range(svc.login_throttle.free["pair"]):
        with pytest.raises(Unauthorized):
            svc.authenticate_password("t@example.org", "guess", client="10.0.0.1")
    with pytest.raises(TooManyAttempts):
        svc.authenticate_password("t@example.org", "s3cret-pass", client="10.0.0.1")
    # the guesser's client waits; the owner elsewhere is not locked out
    assert svc.authenticate_password("t@example.org", "s3cret-pass", client="10.0.0.2")
