"""An intruder's audit of every health-point count the public can read (ADR 0120, 0121).

The intruder collects every number the health dashboard's views show over every
combination of its controls (ward x age band x month, every status, the map states) and the
open ``health-points-aggregate`` product read through the gateway with the public key, and
knows what the documentation says: the same people are counted in every month (a fixed
panel). For every hidden cell a linear programme gives the range of its true value
(``sdc_attack.feasible_ranges``). No hidden cell of 1-9 people may be narrower than the
documented protection level: down to ``max(0, v - 5)`` and up to ``v + 5``.

The same audit runs on the whole product table of three programmes generated with seeds that
no other test uses (and smaller, so with more small cells).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sdc_attack import feasible_ranges, true_counts

from workbench.analysis.privacy import PROTECTION_LEVEL
from workbench.dashboards import health
from workbench.datasets.catalog import BuildContext
from workbench.datasets.health_points import aggregate_health_points, generate_health_points

KEYS = ["month", "ward_code", "age_band", "status"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _number(text: str) -> float | None:
    """A count as the dashboard shows it ("1,234"), None when suppressed or blank."""
    if text in (health.SUPPRESSED_TEXT, "–"):
        return None
    return float(text.replace(",", ""))


def shown_by_dashboard(table: pd.DataFrame) -> pd.DataFrame:
    """Every count the health dashboard's views show, over every combination of controls.

    Returns one row per month x ward x age band x status cell that some view shows, with
    ``persons`` (missing where the view says suppressed).
    """
    seen: dict[tuple, float | None] = {}

    def record(key: tuple, value: float | None) -> None:
        value = None if value is None or pd.isna(value) else float(value)
        if key in seen:
            assert seen[key] == value, (key, seen[key], value)  # views agree with each other
        seen[key] = value

    months = sorted(table["month"].unique())
    wards = sorted(table["ward_code"].unique())
    bands = sorted(table["age_band"].unique())
    # Each view below selects the rows of one ward, age band or month; handing it only those
    # rows gives the same output and keeps thousands of calls fast.
    of = {key: rows for key, rows in table.groupby(["ward_code", "month"])}
    for ward, month in itertools.product(wards, months):
        shown = health.age_band_table(of[ward, month], ward_code=ward, month=month)
        for band in shown.index:
            for status, label in health.STATUS_LABELS.items():
                record((month, ward, band, status), _number(shown.at[band, (label, "people")]))
    of = {key: rows for key, rows in table.groupby(["ward_code", "age_band"])}
    for ward, band in itertools.product(wards, bands):
        people = health.participants_by_month(of[ward, band], ward_code=ward, age_band=band)
        for month, value in people.items():
            record((month, ward, band, "enrolled"), value)
        for month in months:
            numbers = health.headline(of[ward, band], ward_code=ward, age_band=band, month=month)
            record((month, ward, band, "enrolled"), numbers["participants"])
            record((month, ward, band, health.TOTAL), numbers["everyone"])
    of = {key: rows for key, rows in table.groupby(["month", "age_band"])}
    for month, band, status in itertools.product(months, bands, health.STATUS_LABELS):
        rows = health.ward_values(of[month, band], month=month, age_band=band, status=status)
        for ward, value in zip(rows["ward_code"], rows["persons"], strict=True):
            record((month, ward, band, status), value)
    states = health.ward_states(table, [w for w in wards if w != health.TOTAL])
    for state, column in states.items():
        month, band = state.split("|")
        for ward, value in column.items():
            record((month, ward, band, "enrolled"), value)
    frame = pd.DataFrame([(*k, v) for k, v in seen.items()], columns=[*KEYS, "persons"])
    frame["persons"] = frame["persons"].astype("Float64")
    return frame


def assert_protected(published: pd.DataFrame, programme, *, protection: int) -> dict:
    """Run the intruder's LP on ``published`` and check every small hidden cell's range."""
    ranges = feasible_ranges(published)
    truth = true_counts(programme)
    audited = ranges.merge(truth, on=KEYS, how="left", validate="one_to_one")
    assert audited["true_persons"].notna().all()
    # the LP is a valid attack: the truth lies in every range
    inside = (audited["low"] - 1e-6 <= audited["true_persons"]) & (
        audited["true_persons"] <= audited["high"] + 1e-6
    )
    assert inside.all()
    small = audited[audited["true_persons"].between(1, 9)]
    need_low = np.maximum(0, small["true_persons"] - protection)
    need_high = small["true_persons"] + protection
    pinned = small[(small["low"] > need_low + 1e-6) | (small["high"] < need_high - 1e-6)]
    exact = audited[audited["high"] - audited["low"] < 0.5]
    report = {
        "hidden": len(audited),
        "small_hidden": len(small),
        "exact": len(exact),
        "narrowest_small": float((small["high"] - small["low"]).min()) if len(small) else None,
    }
    assert pinned.empty, (
        f"{len(pinned)} hidden cells of 1-9 people are pinned narrower than ±{protection} "
        f"({report}):\n{pinned.head(10).to_string()}"
    )
    return report


# --------------------------------------------------------------------------- what is served


@pytest.fixture(scope="module")
def public_key(seeded_exchange) -> str:
    accounts = seeded_exchange.credentials["accounts"]
    return next(a["api_key"] for a in accounts if a["kind"] == "public")


def test_no_small_count_is_pinned_by_every_dashboard_view_and_the_open_product(
    seeded_exchange, public_key
):
    from workbench.dashboards import public_exchange

    exchange = public_exchange(url=seeded_exchange.url, api_key=public_key)
    product = health.load_health_table(exchange)  # through the gateway, public key
    served = health.check_publishable(product)
    dashboard = shown_by_dashboard(served)
    # the dashboard shows nothing the product does not, and vice versa
    joined = product[[*KEYS, "persons"]].merge(dashboard, on=KEYS, how="outer",
                                               suffixes=("_product", "_dashboard"))  # fmt: skip
    assert len(joined) == len(product) == len(dashboard)
    both = joined["persons_product"].astype("float64").fillna(-1)
    assert (both == joined["persons_dashboard"].astype("float64").fillna(-1)).all()

    ctx = BuildContext()
    programme = generate_health_points(
        n_participants=ctx.n_participants, n_comparison=ctx.n_comparison, seed=ctx.seed,
        start=ctx.health_period[0], end=ctx.health_period[1], effect_steps=ctx.effect_steps,
    )  # fmt: skip
    report = assert_protected(dashboard, programme, protection=PROTECTION_LEVEL)
    assert report["exact"] == 0 and report["small_hidden"] > 0


@pytest.mark.parametrize("seed", [7_301, 7_302, 7_303])
def test_no_small_count_is_pinned_on_fresh_seeds(seed):
    """The whole product table of a smaller programme (more small cells) is attacked: a
    superset of what the views show (the test above checks they show the product)."""
    programme = generate_health_points(n_participants=1500, n_comparison=1500, seed=seed)
    table = health.check_publishable(
        health.normalise_health_table(aggregate_health_points(programme))
    )
    report = assert_protected(table, programme, protection=PROTECTION_LEVEL)
    assert report["small_hidden"] > 100  # a small programme: many small cells were at stake
