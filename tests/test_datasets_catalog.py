"""The Sapporo catalog: providers, products, plans, terms and demo accounts."""

from __future__ import annotations

import re

from workbench.datasets import catalog


def test_every_product_has_licence_attribution_and_terms():
    for spec in catalog.PRODUCTS:
        licence, attribution = spec.licence_and_attribution()
        assert licence and attribution, spec.id
        terms = spec.current_terms()
        assert terms.permitted_purposes and terms.prohibitions, spec.id
        assert re.fullmatch(r"[a-z0-9_]{1,50}", spec.service), spec.id
    assert len({p.service for p in catalog.PRODUCTS}) == len(catalog.PRODUCTS)


def test_synthetic_products_say_so():
    synthetic = [p for p in catalog.PRODUCTS if p.synthetic]
    assert {p.id for p in synthetic} == {"subway-ridership", "city-centre-pedestrians",
                                        "city-centre-pedestrians-daily",
                                        "health-points-aggregate", "health-points-individual"}
    for spec in synthetic:
        assert "SYNTHETIC" in spec.title and "SYNTHETIC" in spec.description
        assert "SYNTHETIC" in spec.licence_and_attribution()[1]


def test_plans_open_free_commercial_metered_and_monthly_health_restricted():
    for spec in catalog.PRODUCTS:
        kinds = {p.kind for p in spec.plans}
        if spec.open:
            assert kinds == {"free"}, spec.id
    pedestrians = catalog.product("city-centre-pedestrians")
    assert {p.kind for p in pedestrians.plans} == {"metered", "monthly"}
    individual = catalog.product("health-points-individual")
    assert individual.restricted and [p.id for p in individual.plans] == ["research"]
    assert "re_identification" in individual.current_terms().prohibitions
    assert "ODbL" in catalog.product("sapporo-rail").current_terms().text


def test_daily_pedestrian_totals_are_open_with_the_providers_attribution():
    daily = catalog.product("city-centre-pedestrians-daily")
    hourly = catalog.product("city-centre-pedestrians")
    assert daily.open and not hourly.open
    assert daily.provider == hourly.provider == "foottraffic"
    assert [p.kind for p in daily.plans] == ["free"]
    licence, attribution = daily.licence_and_attribution()
    assert licence.startswith("CC BY 4.0")
    assert attribution.startswith("Hokkaido Foot Traffic Analytics") and "SYNTHETIC" in attribution
    assert "presenting_as_real_data" in daily.current_terms().prohibitions
    assert "city-centre-pedestrians-daily" in catalog.OPEN_PRODUCTS


def test_public_account_sees_only_open_products_and_each_kind_exists():
    kinds = {a.kind: a for a in catalog.DEMO_ACCOUNTS}
    assert {"planner", "researcher", "trainer", "provider", "public"} <= set(kinds)
    public = {pid for pid, _, _ in kinds["public"].subscriptions}
    assert public == set(catalog.OPEN_PRODUCTS)
    assert "city-centre-pedestrians-daily" in public and "city-centre-pedestrians" not in public
    researcher = {pid for pid, _, _ in kinds["researcher"].subscriptions}
    assert "health-points-individual" in researcher
    for account in catalog.DEMO_ACCOUNTS:
        for product_id, plan_id, purpose in account.subscriptions:
            assert plan_id in {p.id for p in catalog.product(product_id).plans}
            assert len(purpose) >= 3
