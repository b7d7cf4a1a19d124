"""Tests for workbench.analysis.privacy: small-cell and complementary suppression."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from workbench.analysis.privacy import (
    find_recoverable_cells,
    linked_cell_ranges,
    suppress_linked_cells,
    suppress_small_cells,
)

TOTAL = "All"


def _random_table(seed: int, n_dims: int) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 7 if n_dims == 2 else 5, size=n_dims)
    dims = [f"d{i}" for i in range(n_dims)]
    levels = [[f"{d}_{j}" for j in range(n)] for d, n in zip(dims, sizes, strict=True)]
    frame = pd.DataFrame(list(itertools.product(*levels)), columns=dims)
    # A mix of empty, small and large cells, so that suppression has work to do.
    means = rng.choice([0.0, 3.0, 8.0, 30.0], size=len(frame), p=[0.15, 0.35, 0.2, 0.3])
    frame["n"] = rng.poisson(means)
    frame["mean_steps"] = rng.normal(7000, 1500, size=len(frame)).round()
    return frame, dims


def _lines(table: pd.DataFrame, dims: list[str]):
    """Yield (cells, total) for every published equation: cells along one dimension = total."""
    for d in dims:
        others = [o for o in dims if o != d]
        groups = table.groupby(others, sort=False) if others else [((), table)]
        for _, line in groups:
            is_total = line[d] == TOTAL
            yield line[~is_total], line[is_total].iloc[0]


def _single_equation_recoveries(table: pd.DataFrame, dims: list[str]) -> list:
    """Every hidden cell that one equation (total minus the published cells) gives away."""
    found = []
    for cells, total in _lines(table, dims):
        unknown = cells["n"].isna().sum() + int(pd.isna(total["n"]))
        if unknown == 1:
            found.append((cells, total))
    return found


def _rank_recoverable(table: pd.DataFrame, dims: list[str]) -> int:
    """Count hidden cells fixed by the whole system of equations (plain numpy ranks)."""
    hidden = table.index[table["n"].isna()]
    column = {index: k for k, index in enumerate(hidden)}
    rows = []
    for cells, total in _lines(table, dims):
        row = np.zeros(len(hidden))
        for index in cells.index[cells["n"].isna()]:
            row[column[index]] = 1.0
        if pd.isna(total["n"]):
            row[column[total.name]] = -1.0
        if row.any():
            rows.append(row)
    if not rows:
        return 0
    system = np.array(rows)
    rank = np.linalg.matrix_rank(system)
    recoverable = 0
    for k in range(len(hidden)):
        unit = np.zeros(len(hidden))
        unit[k] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            recoverable += 1
    return recoverable


@pytest.mark.parametrize("n_dims", [1, 2, 3])
def test_no_published_cell_is_small_and_none_recoverable_over_random_tables(n_dims):
    for seed in range(40 if n_dims > 1 else 10):
        frame, dims = _random_table(seed, n_dims)
        out = suppress_small_cells(
            frame, count_column="n", dimensions=dims, value_columns=["mean_steps"]
        )
        published = out["n"].dropna()
        assert not ((published > 0) & (published < 10)).any(), seed
        assert _single_equation_recoveries(out, dims) == [], seed
        assert _rank_recoverable(out, dims) == 0, seed
        assert find_recoverable_cells(out, count_column="n", dimensions=dims).empty
        # Derived values are hidden exactly where counts are.
        assert (out["mean_steps"].isna() >= out["n"].isna()).all()
        assert out["suppressed"].tolist() == out["n"].isna().tolist()


def test_published_cells_and_margins_are_the_true_values():
    frame, dims = _random_table(7, 3)
    out = suppress_small_cells(frame, count_column="n", dimensions=dims)
    interior = out[(out[dims] != TOTAL).all(axis=1)]
    merged = interior.merge(frame, on=dims, suffixes=("", "_true"))
    shown = merged["n"].notna()
    assert (merged.loc[shown, "n"] == merged.loc[shown, "n_true"]).all()
    grand = out[(out[dims] == TOTAL).all(axis=1)]["n"].iloc[0]
    assert grand == frame["n"].sum()
    by_d0 = out[(out["d0"] != TOTAL) & (out["d1"] == TOTAL) & (out["d2"] == TOTAL)]
    truth = frame.groupby("d0")["n"].sum()
    for _, row in by_d0.dropna(subset=["n"]).iterrows():
        assert row["n"] == truth[row["d0"]]


def test_worked_example_ward_by_sex():
    # Chuo men (4) is small. Hiding it alone would leave Chuo's total minus Chuo women,
    # so a second Chuo cell goes, then a second cell in each affected column.
    cells = pd.DataFrame(
        {
            "ward": ["Chuo", "Chuo", "Kita", "Kita"],
            "sex": ["F", "M", "F", "M"],
            "people": [25, 4, 30, 31],
            "mean_steps": [7000.0, 6000.0, 8000.0, 9000.0],
        }
    )
    out = suppress_small_cells(
        cells, count_column="people", dimensions=["ward", "sex"], value_columns=["mean_steps"]
    ).set_index(["ward", "sex"])
    assert out.loc[("Chuo", "M"), "suppression"] == "primary"
    assert out.loc[("Chuo", "F"), "suppression"] == "complementary"
    assert out["people"].isna().sum() == 4
    assert out.loc[("Chuo", TOTAL), "people"] == 29
    assert out.loc[(TOTAL, TOTAL), "people"] == 90
    # Margin means are count-weighted over the true cells.
    assert out.loc[(TOTAL, "M"), "mean_steps"] == pytest.approx((4 * 6000 + 31 * 9000) / 35)
    assert pd.isna(out.loc[("Kita", "M"), "mean_steps"])


def test_zeros_are_published_by_default_and_hidden_on_request():
    cells = pd.DataFrame({"area": list("abcd"), "n": [0, 12, 40, 55]})
    out = suppress_small_cells(cells, count_column="n", dimensions=["area"])
    assert not out["suppressed"].any()
    strict = suppress_small_cells(
        cells, count_column="n", dimensions=["area"], zeros_are_safe=False
    )
    assert strict.set_index("area").loc["a", "suppression"] == "primary"
    assert strict["suppressed"].sum() == 2  # zero plus its complement (12)


def test_missing_combinations_are_zero_cells_and_levels_complete_the_grid():
    cells = pd.DataFrame({"ward": ["Chuo", "Kita"], "month": [1, 2], "n": [20, 30]})
    out = suppress_small_cells(
        cells,
        count_column="n",
        dimensions=["ward", "month"],
        levels={"month": [1, 2, 3]},
        margins=False,
    )
    assert len(out) == 6
    assert out["n"].sum() == 50
    assert out["month"].tolist() == [1, 2, 3, 1, 2, 3]


def test_a_single_small_line_hides_its_total_too():
    cells = pd.DataFrame({"ward": ["Chuo", "Kita"], "sex": ["F", "F"], "n": [3, 50]})
    out = suppress_small_cells(cells, count_column="n", dimensions=["ward", "sex"])
    out = out.set_index(["ward", "sex"])
    assert pd.isna(out.loc[("Chuo", TOTAL), "n"])
    assert find_recoverable_cells(
        out.reset_index(), count_column="n", dimensions=["ward", "sex"]
    ).empty


def test_bridge_cell_between_two_suppressed_groups_is_protected():
    # Every line holds two hidden cells, yet the cell linking the two 2x2 blocks would be
    # determined by the totals: the linear-algebra audit must add a complement.
    counts = np.array(
        [
            [3, 4, 50, 60, 70],
            [5, 6, 7, 80, 90],
            [60, 70, 2, 3, 80],
            [70, 80, 4, 5, 90],
            [90, 60, 70, 80, 90],
        ]
    )
    frame = pd.DataFrame(
        [(f"r{i}", f"c{j}", counts[i, j]) for i in range(5) for j in range(5)],
        columns=["r", "c", "n"],
    )
    out = suppress_small_cells(frame, count_column="n", dimensions=["r", "c"])
    assert out["n"].isna().sum() > 9  # the nine small cells and at least one more
    assert _rank_recoverable(out, ["r", "c"]) == 0
    assert _single_equation_recoveries(out, ["r", "c"]) == []


def test_find_recoverable_cells_flags_a_naively_suppressed_table():
    table = pd.DataFrame(
        {
            "ward": ["Chuo", "Chuo", "Chuo", "Kita", "Kita", "Kita", TOTAL, TOTAL, TOTAL],
            "sex": ["F", "M", TOTAL] * 3,
            "n": pd.array([25, None, 29, 30, 31, 61, 55, 35, 90], dtype="Int64"),
        }
    )
    found = find_recoverable_cells(table, count_column="n", dimensions=["ward", "sex"])
    assert found[["ward", "sex"]].values.tolist() == [["Chuo", "M"]]


def test_errors_say_what_to_do():
    cells = pd.DataFrame({"ward": ["Chuo", "Chuo"], "n": [20, 30]})
    with pytest.raises(ValueError, match="aggregate first"):
        suppress_small_cells(cells, count_column="n", dimensions=["ward"])
    with pytest.raises(ValueError, match="not in the frame"):
        suppress_small_cells(cells, count_column="people", dimensions=["ward"])
    with pytest.raises(ValueError, match="non-negative whole numbers"):
        suppress_small_cells(
            pd.DataFrame({"ward": ["a"], "n": [-1]}), count_column="n", dimensions=["ward"]
        )
    with pytest.raises(ValueError, match="already suppressed"):
        suppress_small_cells(
            pd.DataFrame({"ward": ["a"], "n": pd.array([None], "Int64")}),
            count_column="n",
            dimensions=["ward"],
        )


def test_dimension_without_totals_protects_every_slice():
    for seed in range(15):
        frame, dims = _random_table(seed, 3)
        out = suppress_small_cells(frame, count_column="n", dimensions=dims, no_total=["d2"])
        assert TOTAL not in set(out["d2"])
        assert len(out) == len(frame) // frame["d0"].nunique() // frame["d1"].nunique() * (
            (frame["d0"].nunique() + 1) * (frame["d1"].nunique() + 1)
        )
        published = out["n"].dropna()
        assert not ((published > 0) & (published < 10)).any()
        for _, one_slice in out.groupby("d2"):
            table = one_slice.drop(columns="d2").reset_index(drop=True)
            assert _single_equation_recoveries(table, ["d0", "d1"]) == []
            assert _rank_recoverable(table, ["d0", "d1"]) == 0
        found = find_recoverable_cells(out, count_column="n", dimensions=dims, no_total=["d2"])
        assert found.empty


# --------------------------------------------------------------------------- linked cells


def _toy_panel(seed: int, n_wards: int = 4):
    """A panel counted in two months: per ward, people who never join, who join in month 1,
    who join in month 0. Cells: month x ward (and All) x status (and All)."""
    rng = np.random.default_rng(seed)
    paths = [("comparison", "comparison"), ("not_yet", "enrolled"), ("enrolled", "enrolled")]
    groups = [(w, p) for w in range(n_wards) for p in range(len(paths))]
    counts = rng.choice([0, 2, 4, 7, 15, 30], size=len(groups))
    statuses = ["comparison", "not_yet", "enrolled", TOTAL]
    cells = list(itertools.product([0, 1], [*range(n_wards), TOTAL], statuses))
    matrix = np.zeros((len(cells), len(groups)))
    for i, (month, ward, status) in enumerate(cells):
        for g, (w, p) in enumerate(groups):
            if ward in (TOTAL, w) and status in (TOTAL, paths[p][month]):
                matrix[i, g] = 1
    return cells, matrix, counts


@pytest.mark.parametrize("seed", range(6))
def test_linked_suppression_keeps_every_small_count_out_of_reach_of_all_months(seed):
    cells, matrix, counts = _toy_panel(seed)
    result = suppress_linked_cells(matrix, counts, threshold=10, protection=5)
    values = matrix @ counts
    published = np.where(result.hidden, np.nan, values)
    assert not ((published > 0) & (published < 10)).any()
    low, high = linked_cell_ranges(matrix, published)
    small = (values > 0) & (values < 10)
    assert (low[small] <= np.maximum(0, values[small] - 5) + 1e-6).all()
    assert (high[small] >= values[small] + 5 - 1e-6).all()
    # the same number (the same people) is hidden in every month it appears, or in none
    for i, j in itertools.combinations(range(len(cells)), 2):
        if (matrix[i] == matrix[j]).all():
            assert result.hidden[i] == result.hidden[j]
    # small groups that only a difference of months would show are protected too
    groups = result.audit[result.audit["kind"] == "group"]
    assert (groups["low"] <= groups["required_low"] + 1e-6).all()
    assert (groups["high"] >= groups["required_high"] - 1e-6).all()


def test_month_by_month_suppression_leaks_what_linked_suppression_protects():
    cells, matrix, counts = _toy_panel(3)
    values = matrix @ counts
    frame = pd.DataFrame(cells, columns=["month", "ward", "status"]).assign(n=values)
    interior = frame[(frame["ward"] != TOTAL) & (frame["status"] != TOTAL)]
    old = suppress_small_cells(interior.astype({"ward": str}), count_column="n",
                               dimensions=["month", "ward", "status"], no_total=["month"])
    old_published = (
        frame.astype({"ward": str})
        .merge(old[["month", "ward", "status", "n"]], on=["month", "ward", "status"],
               suffixes=("", "_shown"))["n_shown"].astype("Float64").astype(float).to_numpy()
    )  # fmt: skip
    low, high = linked_cell_ranges(matrix, old_published)
    small = (values > 0) & (values < 10)
    assert (high[small] - low[small] < 10).any()  # months differenced: narrow ranges
    new = suppress_linked_cells(matrix, counts)
    low, high = linked_cell_ranges(matrix, np.where(new.hidden, np.nan, values))
    assert (high[small] - low[small] >= 5).all()


def test_linked_suppression_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="columns"):
        suppress_linked_cells(np.ones((2, 3)), [1, 2])
    with pytest.raises(ValueError, match="non-negative whole"):
        suppress_linked_cells(np.ones((2, 2)), [1.5, 2])
