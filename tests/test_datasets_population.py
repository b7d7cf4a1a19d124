"""Population by ward and small area."""

from __future__ import annotations

from workbench.datasets.population import (
    AGE5_COLUMNS,
    load_small_area_households,
    load_small_area_population,
    load_ward_population,
)


def test_ward_population_age_bands_and_wards_add_up_every_year():
    pop = load_ward_population(include_city=True)
    assert len(pop) == 28 * 11
    assert (pop[list(AGE5_COLUMNS)].sum(axis=1) == pop["total"]).all()
    city = pop[pop["ward_code"] == "01100"].set_index("year")["total"]
    wards = pop[pop["ward_code"] != "01100"].groupby("year")["total"].sum()
    assert (city == wards).all()
    assert str(pop["total"].dtype) == "Int64"
    assert "札幌市" in pop.attrs["attribution"]


def test_ward_population_filters_years_and_drops_the_city_by_default():
    pop = load_ward_population(years=[2020, 2025])
    assert sorted(pop["year"].unique()) == [2020, 2025]
    assert len(pop) == 20 and "01100" not in set(pop["ward_code"])


def test_small_area_population_keeps_suppressed_cells_missing():
    pop = load_small_area_population(years=[2020])
    assert set(pop["year"]) == {2020}
    assert pop["age_0_4"].isna().any()
    assert abs(int(pop["total"].sum()) - 1_973_395) / 1_973_395 < 0.02


def test_households_are_leaf_areas_only():
    households = load_small_area_households()
    assert len(households) > 5000
    assert (households["male"] + households["female"] == households["pop_total"]).all()
