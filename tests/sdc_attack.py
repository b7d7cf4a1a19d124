"""An attacker's audit of the published health-point counts, by linear programming.

The attacker reads every count the public can see (the month x ward x age band x status
table, with its ``All`` margins, however it was obtained) and knows what the product
documentation says about the population: it is a fixed panel. Every person is counted in
every month, in the same ward and age band; non-participants stay non-participants; a
participant is "before enrolment" until one month and "enrolled" from then on.

So the unknowns are, per ward x age band, the number of non-participants ``C`` and the
number of participants enrolled from month ``k`` (``E_k``, ``k = 0 .. M``, ``E_M``: not
enrolled by the last month). Every cell of every month, margins included, is a sum of those
unknowns. The published cells are equations; for each hidden cell the attacker minimises and
maximises its value over all non-negative solutions (the LP relaxation of the integer
problem, so the true range is the same or narrower only by rounding). The result is the
feasible range of every hidden cell, as an intruder with an LP solver would compute it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.sparse

TOTAL = "All"


def panel_forms(cells: pd.DataFrame, months: list[str], wards: list[str], bands: list[str]):
    """Sparse 0/1 matrix: row i is cell i of ``cells`` as a sum of the panel's unknowns."""
    n_months = len(months)
    per_group = n_months + 2  # C, E_0 .. E_M
    month_of = {m: k for k, m in enumerate(months)}
    ward_of = {w: k for k, w in enumerate(wards)}
    band_of = {b: k for k, b in enumerate(bands)}
    rows, cols = [], []
    for i, (month, ward, band, status) in enumerate(
        cells[["month", "ward_code", "age_band", "status"]].itertuples(index=False)
    ):
        m = month_of[month]
        if status == "comparison":
            offsets = [0]
        elif status == "enrolled":
            offsets = list(range(1, m + 2))
        elif status == "not_yet_enrolled":
            offsets = list(range(m + 2, per_group))
        elif status == TOTAL:
            offsets = list(range(per_group))
        else:
            raise ValueError(f"unknown status {status!r}")
        ws = range(len(wards)) if ward == TOTAL else [ward_of[ward]]
        bs = range(len(bands)) if band == TOTAL else [band_of[band]]
        for w in ws:
            for b in bs:
                base = (w * len(bands) + b) * per_group
                rows.extend([i] * len(offsets))
                cols.extend(base + o for o in offsets)
    shape = (len(cells), len(wards) * len(bands) * per_group)
    return scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)


def _row_keys(matrix: scipy.sparse.csr_matrix) -> list[bytes]:
    matrix.sort_indices()
    return [
        matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tobytes()
        for i in range(matrix.shape[0])
    ]


def feasible_ranges(table: pd.DataFrame) -> pd.DataFrame:
    """Feasible [low, high] of every hidden count, given all published counts and the panel.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``month``, ``ward_code``, ``age_band``, ``status``, ``persons`` (missing where
        hidden). Every month x ward x age band x status cell that the public can see or
        knows to be hidden, with ``All`` margins.

    Returns
    -------
    pandas.DataFrame
        The hidden rows of ``table`` with ``low`` and ``high``.
    """
    months = sorted(table["month"].unique())
    wards = sorted(set(table["ward_code"]) - {TOTAL})
    bands = sorted(set(table["age_band"]) - {TOTAL})
    cells = table.reset_index(drop=True)
    forms = panel_forms(cells, months, wards, bands)
    keys = _row_keys(forms)
    visible = cells["persons"].notna().to_numpy()

    equations: dict[bytes, tuple[int, float]] = {}
    for i in np.flatnonzero(visible):
        value = float(cells.at[i, "persons"])
        seen = equations.get(keys[i])
        if seen is not None and seen[1] != value:
            names = ["month", "ward_code", "age_band", "status"]
            first, second = cells.loc[seen[0], names].tolist(), cells.loc[i, names].tolist()
            raise AssertionError(
                "the published table contradicts the fixed-panel model: "
                f"{first} = {seen[1]} but {second} = {value}"
            )
        equations[keys[i]] = (i, value)
    eq_rows = [i for i, _ in equations.values()]
    a_eq = forms[eq_rows]
    b_eq = np.array([v for _, v in equations.values()])
    # Presolve (exact): a published zero fixes all its unknowns at zero, and so does a month
    # in which the published city-wide number of enrolled people does not change (nobody
    # of any ward or age band enrolled that month). Dropping them keeps the LPs small.
    zero = np.zeros(forms.shape[1], dtype=bool)
    zero[a_eq[b_eq == 0].indices] = True
    per_group = len(months) + 2
    city = cells[(cells["ward_code"] == TOTAL) & (cells["age_band"] == TOTAL)
                 & (cells["status"] == "enrolled")].set_index("month")["persons"]  # fmt: skip
    for m in range(1, len(months)):
        before, now = city.get(months[m - 1]), city.get(months[m])
        if pd.notna(before) and pd.notna(now) and before == now:
            zero[np.arange(m + 1, forms.shape[1], per_group)] = True
    keep = np.flatnonzero(~zero)
    forms = forms[:, keep].tocsr()
    keys = _row_keys(forms)  # months within one enrolment period now share their forms
    unique_eq = {keys[i]: i for i in eq_rows}
    a_eq = forms[list(unique_eq.values())]
    b_eq = np.array([float(cells.at[i, "persons"]) for i in unique_eq.values()])

    hidden_forms: dict[bytes, int] = {}
    for i in np.flatnonzero(~visible):
        hidden_forms.setdefault(keys[i], i)
    bounds: dict[bytes, tuple[float, float]] = {}
    for key, i in hidden_forms.items():
        objective = forms[i].toarray().ravel()
        ends = []
        for sign in (1.0, -1.0):
            result = scipy.optimize.linprog(
                sign * objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs"
            )
            if result.status != 0:
                raise AssertionError(f"LP failed ({result.message}): the model is inconsistent")
            ends.append(sign * result.fun)
        bounds[key] = (ends[0], ends[1])
    hidden = cells[~visible].copy()
    hidden["low"] = [bounds[keys[i]][0] for i in hidden.index]
    hidden["high"] = [bounds[keys[i]][1] for i in hidden.index]
    return hidden


def true_counts(programme) -> pd.DataFrame:
    """Every cell of the month x ward x age band x status table, margins included, unhidden.

    Computed from the generator's person-level records (what the city holds), to tell which
    hidden cells are small; the attacker never sees it.
    """
    from workbench.datasets.health_points import AGE_BANDS, STATUSES, person_months

    frame = person_months(programme)
    frame = frame[frame["days_observed"] > 0]
    frame = frame.assign(month=frame["month"].dt.strftime("%Y-%m"))
    months = sorted(frame["month"].unique())
    wards = sorted(frame["ward_code"].astype(str).unique())
    counts = frame.groupby(["month", "ward_code", "age_band", "status"], observed=True).size()
    index = pd.MultiIndex.from_product(
        [months, wards, list(AGE_BANDS), list(STATUSES)],
        names=["month", "ward_code", "age_band", "status"],
    )
    cube = counts.reindex(index, fill_value=0).to_numpy().reshape(
        len(months), len(wards), len(AGE_BANDS), len(STATUSES)
    )
    for axis in (1, 2, 3):
        cube = np.concatenate([cube, cube.sum(axis=axis, keepdims=True)], axis=axis)
    full = pd.MultiIndex.from_product(
        [months, [*wards, TOTAL], [*AGE_BANDS, TOTAL], [*STATUSES, TOTAL]],
        names=["month", "ward_code", "age_band", "status"],
    )
    return pd.Series(cube.reshape(-1), index=full, name="true_persons").reset_index()
