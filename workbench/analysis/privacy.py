"""Small-cell suppression: the one function every public health figure passes through.

Everything the product shows the public about people (dashboards, aggregated products,
notebooks run without the research plan) is a table of counts by some dimensions, with its
marginal totals. :func:`suppress_small_cells` hides every cell with fewer than ``threshold``
people (*primary* suppression) and then hides enough further cells (*complementary* or
secondary suppression) that no hidden cell can be worked out from the published cells and the
published totals:

* along every dimension, each line of the table (the cells that add up to one published
  total, together with that total) holds either no suppressed cell or at least two;
* the fixed point of that rule is then audited with linear algebra: the published totals are
  a system of linear equations in the hidden cells, and a hidden cell whose value the system
  determines (for instance a cell that bridges two otherwise separate groups of hidden cells)
  gets a further complement. The audit repeats until no hidden cell is determined.

Zeros are treated as not sensitive by default (the usual statistical-disclosure-control
practice: a zero says nobody of that kind took part, which is not about any person), so they
are published and are used as complements only when nothing else is left. Pass
``zeros_are_safe=False`` to hide them too.

What this does not protect against: an attacker who knows some hidden cells from elsewhere,
and *interval* disclosure (narrow bounds from non-negativity). Hidden cells can only be bounded
by sums that include at least one other hidden cell; with counts that is usually wide.

Dashboards must compute one suppressed table (with margins) and only *select* from it; never
re-aggregate suppressed cells or suppress sub-tables independently, or combinations of
controls could be differenced.

A release that counts the same people several times (a panel counted every month, tables
sharing margins) must be protected as a whole, not table by table: differences between
months pin down cells that each month on its own protects. :func:`suppress_linked_cells`
does that: every published number is a sum of disjoint groups of people, the same number is
suppressed everywhere or nowhere, and each small count's range is audited by linear
programming over everything published (ADR 0120); :func:`linked_cell_ranges` is that audit
for any release.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph

__all__ = [
    "PROTECTION_LEVEL",
    "LinkedSuppression",
    "find_recoverable_cells",
    "linked_cell_ranges",
    "suppress_linked_cells",
    "suppress_small_cells",
]

Aggregation = Literal["mean", "sum"]

_PRIMARY = "primary"
_COMPLEMENTARY = "complementary"


def suppress_small_cells(
    frame: pd.DataFrame,
    *,
    count_column: str,
    dimensions: Sequence[str],
    threshold: int = 10,
    value_columns: Sequence[str] | Mapping[str, Aggregation] = (),
    margins: bool = True,
    total_label: str = "All",
    levels: Mapping[str, Sequence] | None = None,
    no_total: Sequence[str] = (),
    zeros_are_safe: bool = True,
    flag_column: str = "suppressed",
    reason_column: str = "suppression",
    max_audit_cells: int = 6_000,
) -> pd.DataFrame:
    """Suppress small cells of a count table, with complementary suppression.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per cell: the ``dimensions`` columns name the cell, ``count_column`` holds
        the number of people in it. Combinations that are absent are cells with count 0.
        Counts must be additive (each person counted in exactly one cell), so that totals
        are sums; count distinct people per cell, not person-days.
    count_column : str
        Column of non-negative integer counts.
    dimensions : sequence of str
        The table's dimensions, e.g. ``["ward_code", "age_band", "month"]``. Do not pass
        nested dimensions together (small area and ward): pass the finest one.
    threshold : int, default 10
        Cells with ``0 < count < threshold`` are suppressed.
    value_columns : sequence of str or mapping of str to {"mean", "sum"}, default ()
        Columns derived from the people counted in a cell (mean steps, total points). They
        are hidden wherever the count is hidden. In margin rows a ``"mean"`` column is the
        count-weighted mean of its cells and a ``"sum"`` column their sum. A plain sequence
        means ``"mean"`` for every column.
    margins : bool, default True
        Add the marginal totals (labelled ``total_label``) along every dimension and every
        combination of dimensions, as the published table does. With ``False`` no total rows
        are returned, but the totals are still assumed known to an attacker (for instance
        from the census), so protection is the same.
    total_label : str, default "All"
        Label of the total category in each dimension column.
    levels : mapping of str to sequence, optional
        The full list of categories of some dimensions (all ten wards, all months), in
        display order. Defaults to the categories present (categorical order, else sorted).
    no_total : sequence of str, default ()
        Dimensions whose totals are neither published nor meaningful, e.g. ``month`` when
        cells count people per month (a sum over months counts person-months). They get no
        total rows and no protection along them; every slice (one month) is a protected table.
    zeros_are_safe : bool, default True
        Publish zero cells (they are not about anyone). With ``False`` they are suppressed.
    flag_column, reason_column : str
        Names of the added columns: a boolean flag and ``"primary"`` / ``"complementary"``
        (missing when published).
    max_audit_cells : int, default 6000
        Largest connected group of hidden cells for the exact linear-algebra audit; larger
        groups raise rather than publish an unaudited table. The audit is cubic in the
        group size: a group of 1,700 takes a few seconds. Declaring ``no_total`` dimensions
        splits the table into independent slices (the health-point ward x age band x status
        x month table: 30 s with month totals, under 1 s with ``no_total=["month"]``).

    Returns
    -------
    pandas.DataFrame
        The completed table (every combination of levels, plus margins), in level order: the
        dimension columns, ``count_column`` as nullable ``Int64`` with ``<NA>`` where
        suppressed, the value columns as nullable ``Float64``, ``flag_column`` and
        ``reason_column``. With margins, dimension columns become ``object`` when the
        categories are not strings.

    Raises
    ------
    ValueError
        If columns are missing, counts are negative or not whole numbers, a dimension has
        missing values, or a combination of dimensions appears more than once.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({
    ...     "ward": ["Chuo", "Chuo", "Kita", "Kita"],
    ...     "sex": ["F", "M", "F", "M"],
    ...     "people": [25, 4, 30, 31],
    ... })
    >>> out = suppress_small_cells(cells, count_column="people", dimensions=["ward", "sex"])
    >>> print(out[["ward", "sex", "people", "suppression"]].to_string(index=False))
    ward sex  people   suppression
    Chuo   F    <NA> complementary
    Chuo   M    <NA>       primary
    Chuo All      29          <NA>
    Kita   F    <NA> complementary
    Kita   M    <NA> complementary
    Kita All      61          <NA>
     All   F      55          <NA>
     All   M      35          <NA>
     All All      90          <NA>
    """
    dimensions = list(dimensions)
    aggregations = _value_aggregations(value_columns)
    _validate(frame, count_column, dimensions, aggregations, threshold)
    dim_levels = [_levels_of(frame, d, (levels or {}).get(d)) for d in dimensions]
    unknown = sorted(set(no_total) - set(dimensions))
    if unknown:
        raise ValueError(f"no_total names {unknown}, which are not among dimensions {dimensions}")
    axes = tuple(k for k, d in enumerate(dimensions) if d not in set(no_total))
    for d, values in zip(dimensions, dim_levels, strict=True):
        if total_label in values:
            raise ValueError(
                f"dimension {d!r} already has a category {total_label!r}; drop its total rows "
                "(this function adds the margins) or pass another total_label"
            )

    counts, sums = _to_arrays(frame, count_column, dimensions, dim_levels, aggregations)
    counts, sums = _add_margins(counts, axes), {c: _add_margins(s, axes) for c, s in sums.items()}

    primary = (counts < threshold) if not zeros_are_safe else (counts > 0) & (counts < threshold)
    hidden = _complementary_suppression(counts, primary.copy(), axes, max_audit_cells)

    return _to_frame(
        counts=counts,
        sums=sums,
        aggregations=aggregations,
        primary=primary,
        hidden=hidden,
        dimensions=dimensions,
        dim_levels=dim_levels,
        axes=axes,
        count_column=count_column,
        margins=margins,
        total_label=total_label,
        flag_column=flag_column,
        reason_column=reason_column,
    )


def find_recoverable_cells(
    table: pd.DataFrame,
    *,
    count_column: str,
    dimensions: Sequence[str],
    total_label: str = "All",
    no_total: Sequence[str] = (),
) -> pd.DataFrame:
    """Return the hidden cells of a published table that its totals determine exactly.

    An independent check for a table as published (for instance the output of
    :func:`suppress_small_cells`, or a table from elsewhere): every line of the table along
    every dimension gives the equation *cells = total*; a hidden cell (missing count) is
    recoverable when the system of all those equations fixes its value. An empty result
    means no hidden cell can be worked out by subtraction, however the equations are combined.

    Parameters
    ----------
    table : pandas.DataFrame
        The complete published table including its margins (rows whose dimension value is
        ``total_label``), with missing counts where suppressed.
    count_column : str
        Column of counts.
    dimensions : sequence of str
        The table's dimensions.
    total_label : str, default "All"
        Label of the total category.
    no_total : sequence of str, default ()
        Dimensions without totals (as in :func:`suppress_small_cells`).

    Returns
    -------
    pandas.DataFrame
        The rows of ``table`` whose hidden count is determined.
    """
    dimensions = list(dimensions)
    dim_levels = []
    for d in dimensions:
        values = pd.unique(table[d])
        inner = [v for v in values if not (isinstance(v, str) and v == total_label)]
        if d in set(no_total):
            dim_levels.append(inner)
            continue
        if len(inner) == len(values):
            raise ValueError(
                f"dimension {d!r} has no {total_label!r} total rows; pass the table with its "
                "margins (suppress_small_cells(..., margins=True))"
            )
        dim_levels.append(inner + [total_label])
    shape = tuple(len(v) for v in dim_levels)
    positions = _positions(table, dimensions, dim_levels)
    hidden = np.zeros(shape, dtype=bool)
    hidden[positions] = table[count_column].isna().to_numpy()
    axes = tuple(k for k, d in enumerate(dimensions) if d not in set(no_total))
    determined = _determined_hidden_cells(hidden, axes, max_cells=None)
    is_determined = determined[positions]
    return table[is_determined]


# --------------------------------------------------------------------------- validation


def _value_aggregations(
    value_columns: Sequence[str] | Mapping[str, Aggregation],
) -> dict[str, Aggregation]:
    if isinstance(value_columns, Mapping):
        aggregations = dict(value_columns)
    elif isinstance(value_columns, str):
        aggregations = {value_columns: "mean"}
    else:
        aggregations = dict.fromkeys(value_columns, "mean")
    for column, how in aggregations.items():
        if how not in ("mean", "sum"):
            raise ValueError(
                f"value column {column!r}: aggregation must be 'mean' or 'sum', got {how!r}"
            )
    return aggregations


def _validate(
    frame: pd.DataFrame,
    count_column: str,
    dimensions: list[str],
    aggregations: Mapping[str, str],
    threshold: int,
) -> None:
    if not dimensions:
        raise ValueError("dimensions is empty: name at least one column that defines the cells")
    missing = [c for c in [count_column, *dimensions, *aggregations] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"columns {missing} not in the frame (it has {list(frame.columns)}); "
            "aggregate to one row per cell first, e.g. frame.groupby(dimensions).size()"
        )
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    counts = pd.to_numeric(frame[count_column], errors="coerce")
    if counts.isna().any():
        raise ValueError(
            f"{count_column!r} has missing or non-numeric values: suppress a table of raw "
            "counts, not one that is already suppressed"
        )
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError(f"{count_column!r} must hold non-negative whole numbers (people)")
    for d in dimensions:
        if frame[d].isna().any():
            raise ValueError(f"dimension {d!r} has missing values; fill or drop them first")
    if frame.duplicated(subset=dimensions).any():
        raise ValueError(
            f"some combinations of {dimensions} appear more than once; aggregate first, "
            f"e.g. frame.groupby({dimensions}, as_index=False)[{count_column!r}].sum()"
        )


def _levels_of(frame: pd.DataFrame, column: str, given: Sequence | None) -> list:
    present = pd.unique(frame[column])
    if given is not None:
        given = list(given)
        unknown = [v for v in present if v not in set(given)]
        if unknown:
            raise ValueError(f"levels for {column!r} do not include {unknown[:5]}")
        return given
    if isinstance(frame[column].dtype, pd.CategoricalDtype):
        return [c for c in frame[column].cat.categories if c in set(present)]
    try:
        return sorted(present)
    except TypeError:
        return list(present)


# --------------------------------------------------------------------------- arrays


def _positions(frame: pd.DataFrame, dimensions: list[str], dim_levels: list[list]) -> tuple:
    index = []
    for d, values in zip(dimensions, dim_levels, strict=True):
        codes = pd.Index(values).get_indexer(frame[d])
        index.append(codes)
    return tuple(index)


def _to_arrays(
    frame: pd.DataFrame,
    count_column: str,
    dimensions: list[str],
    dim_levels: list[list],
    aggregations: Mapping[str, str],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    shape = tuple(len(v) for v in dim_levels)
    positions = _positions(frame, dimensions, dim_levels)
    count_values = pd.to_numeric(frame[count_column]).to_numpy(dtype=np.int64)
    counts = np.zeros(shape, dtype=np.int64)
    counts[positions] = count_values
    sums = {}
    for column, how in aggregations.items():
        values = pd.to_numeric(frame[column]).astype("float64").to_numpy(na_value=np.nan)
        if how == "mean":
            values = values * count_values
        values = np.where(count_values == 0, 0.0, values)
        array = np.zeros(shape, dtype=float)
        array[positions] = values
        sums[column] = array
    return counts, sums


def _add_margins(interior: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Pad each of ``axes`` by one and fill the totals (the last index) along it."""
    shape = tuple(n + (k in axes) for k, n in enumerate(interior.shape))
    out = np.zeros(shape, dtype=interior.dtype)
    out[tuple(slice(0, n) for n in interior.shape)] = interior
    for axis in axes:
        n = interior.shape[axis]
        inner = [slice(None)] * out.ndim
        inner[axis] = slice(0, n)
        total = [slice(None)] * out.ndim
        total[axis] = n
        out[tuple(total)] = out[tuple(inner)].sum(axis=axis)
    return out


# --------------------------------------------------------------------------- suppression


def _complementary_suppression(
    counts: np.ndarray, hidden: np.ndarray, axes: tuple[int, ...], max_audit_cells: int
) -> np.ndarray:
    while True:
        _close_lines(counts, hidden, axes)
        determined = _determined_hidden_cells(hidden, axes, max_cells=max_audit_cells)
        if not determined.any():
            return hidden
        # Give a determined cell a fresh complement in one of its lines, then re-close. If
        # every line through every determined cell is hidden already, widen to any hidden
        # cell's lines (the system then still has visible cells to hide).
        candidates = [*np.argwhere(determined), *np.argwhere(hidden & ~determined)]
        if not any(
            _add_complement_near(counts, hidden, tuple(int(i) for i in cell), axes)
            for cell in candidates
        ):
            raise RuntimeError(
                "complementary suppression could not protect the table; please report this "
                "table (its counts) as a bug"
            )


def _close_lines(counts: np.ndarray, hidden: np.ndarray, axes: tuple[int, ...]) -> None:
    """Suppress complements until no line along any axis holds exactly one hidden cell."""
    changed = True
    while changed:
        changed = False
        for axis in axes:
            singles = np.argwhere(hidden.sum(axis=axis) == 1)
            for other in singles:
                line = _line_index(other, axis)
                if hidden[line].sum() != 1:
                    continue  # fixed meanwhile by another complement
                choice = _best_complement(counts, hidden, line, axis, axes)
                if choice is None:
                    continue
                hidden[choice] = True
                changed = True


def _line_index(other: np.ndarray, axis: int) -> tuple:
    index: list = [int(i) for i in other]
    index.insert(axis, slice(None))
    return tuple(index)


def _best_complement(
    counts: np.ndarray, hidden: np.ndarray, line: tuple, axis: int, axes: tuple[int, ...]
) -> tuple | None:
    """Pick the cheapest visible cell of a line to hide.

    Prefer non-zero cells (a hidden zero may be known to be zero), then cells whose other
    lines already hold one hidden cell (hiding them closes those lines too) and do not open
    new single-hidden lines, then the smallest count.
    """
    best_key, best_cell = None, None
    for position in np.flatnonzero(~hidden[line]):
        cell = list(line)
        cell[axis] = int(position)
        cell = tuple(cell)
        opened = 0
        for other_axis in axes:
            if other_axis == axis:
                continue
            through = list(cell)
            through[other_axis] = slice(None)
            n_hidden = int(hidden[tuple(through)].sum())
            opened += 1 if n_hidden == 0 else (-1 if n_hidden == 1 else 0)
        key = (counts[cell] == 0, opened, int(counts[cell]))
        if best_key is None or key < best_key:
            best_key, best_cell = key, cell
    return best_cell


def _add_complement_near(
    counts: np.ndarray, hidden: np.ndarray, cell: tuple, axes: tuple[int, ...]
) -> bool:
    candidates = []
    for axis in axes:
        line = list(cell)
        line[axis] = slice(None)
        choice = _best_complement(counts, hidden, tuple(line), axis, axes)
        if choice is not None:
            candidates.append((counts[choice] == 0, int(counts[choice]), choice))
    if not candidates:
        return False
    hidden[min(candidates)[2]] = True
    return True


def _determined_hidden_cells(
    hidden: np.ndarray, axes: tuple[int, ...], *, max_cells: int | None
) -> np.ndarray:
    """Hidden cells whose value the line equations (cells = total) determine."""
    determined = np.zeros(hidden.shape, dtype=bool)
    cells = np.argwhere(hidden)
    if len(cells) == 0:
        return determined
    column_of = np.full(hidden.shape, -1, dtype=np.int64)
    column_of[tuple(cells.T)] = np.arange(len(cells))

    rows, cols, coefficients = [], [], []
    n_equations = 0
    for axis in axes:
        size = hidden.shape[axis]
        for other in np.argwhere(hidden.sum(axis=axis) > 0):
            line = _line_index(other, axis)
            members = column_of[line]
            for position in np.flatnonzero(members >= 0):
                rows.append(n_equations)
                cols.append(int(members[position]))
                coefficients.append(-1.0 if position == size - 1 else 1.0)
            n_equations += 1
    system = scipy.sparse.csr_matrix((coefficients, (rows, cols)), shape=(n_equations, len(cells)))
    # Cells only interact within connected groups (cells sharing an equation).
    link = (system.T @ system) != 0
    n_groups, group_of = scipy.sparse.csgraph.connected_components(link, directed=False)
    for group in range(n_groups):
        members = np.flatnonzero(group_of == group)
        if max_cells is not None and len(members) > max_cells:
            raise ValueError(
                f"a connected group of {len(members)} suppressed cells is too large to audit "
                f"(max_audit_cells={max_cells}); publish a coarser table or raise the limit"
            )
        sub = system[:, members]
        fixed = _in_row_space(sub)
        for member in members[fixed]:
            determined[tuple(cells[member])] = True
    return determined


def _in_row_space(system: scipy.sparse.csr_matrix) -> np.ndarray:
    """For each unknown j: is the unit vector e_j a combination of the equations' rows?

    The row space is spanned by the eigenvectors of the Gram matrix A^T A with non-zero
    eigenvalues; e_j lies in it exactly when its projection there has length one.
    """
    gram = (system.T @ system).toarray()
    values, vectors = np.linalg.eigh(gram)
    tol = max(values.max(), 1.0) * 1e-9 * len(values)
    basis = vectors[:, values > tol]
    projected = (basis**2).sum(axis=1)
    return projected > 1 - 1e-6


# --------------------------------------------------------------------------- output


def _to_frame(
    *,
    counts: np.ndarray,
    sums: Mapping[str, np.ndarray],
    aggregations: Mapping[str, str],
    primary: np.ndarray,
    hidden: np.ndarray,
    dimensions: list[str],
    dim_levels: list[list],
    axes: tuple[int, ...],
    count_column: str,
    margins: bool,
    total_label: str,
    flag_column: str,
    reason_column: str,
) -> pd.DataFrame:
    labels = [
        [*values, total_label] if k in axes else list(values) for k, values in enumerate(dim_levels)
    ]
    combos = list(itertools.product(*labels))
    out = pd.DataFrame(combos, columns=dimensions)
    for d, values in zip(dimensions, dim_levels, strict=True):
        if all(isinstance(v, str) for v in values):
            out[d] = out[d].astype("str")
    flat_hidden = hidden.reshape(-1)
    out[count_column] = pd.array(counts.reshape(-1), dtype="Int64")
    out.loc[flat_hidden, count_column] = pd.NA
    flat_counts = counts.reshape(-1).astype(float)
    for column, how in aggregations.items():
        flat = sums[column].reshape(-1)
        if how == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                flat = np.where(flat_counts > 0, flat / flat_counts, np.nan)
        values = pd.array(flat, dtype="Float64")
        values[flat_hidden | np.isnan(flat)] = pd.NA
        out[column] = values
    out[flag_column] = flat_hidden
    reason = np.where(primary.reshape(-1), _PRIMARY, _COMPLEMENTARY)
    out[reason_column] = pd.array(np.where(flat_hidden, reason, None), dtype="string")
    if not margins:
        interior = np.ones(len(out), dtype=bool)
        for d in dimensions:
            interior &= (out[d] != total_label).to_numpy()
        out = out[interior].reset_index(drop=True)
        for d, values in zip(dimensions, dim_levels, strict=True):
            out[d] = out[d].astype(pd.Series(values).dtype)
    return out


# --------------------------------------------------------------------------- linked tables


#: Default protection level (people): see :func:`suppress_linked_cells`.
PROTECTION_LEVEL = 5


@dataclass(frozen=True)
class LinkedSuppression:
    """Result of :func:`suppress_linked_cells`.

    Attributes
    ----------
    hidden : numpy.ndarray
        Boolean per input cell: suppressed.
    primary : numpy.ndarray
        Boolean per input cell: suppressed because it counts 1 to ``threshold - 1`` people.
    audit : pandas.DataFrame
        One row per protected quantity (each distinct small cell and, with
        ``protect_groups``, each small group): ``kind`` (``"cell"`` / ``"group"``),
        ``index`` (first input cell, or group), ``value`` (true count), ``low`` and ``high``
        (the range an intruder can derive from everything published), ``required_low`` and
        ``required_high`` (what the protection level demands).
    """

    hidden: np.ndarray
    primary: np.ndarray
    audit: pd.DataFrame


def suppress_linked_cells(
    cells: scipy.sparse.spmatrix | np.ndarray,
    group_counts: Sequence[int] | np.ndarray,
    *,
    threshold: int = 10,
    protection: int = PROTECTION_LEVEL,
    protect_groups: bool = True,
    max_complements: int = 100_000,
) -> LinkedSuppression:
    """Suppress small cells of a whole release at once, audited by linear programming.

    For releases that count the same people many times (a panel counted every month, tables
    that share margins): every published cell is a sum of *groups*, disjoint sets of people
    that are never split by any cell (for a monthly panel: people of one ward and age band
    whose status follows the same path through the months). The same sum is the same
    number wherever it appears, so it is hidden everywhere or nowhere (consistent
    suppression), and the protection is checked against *everything* published together.

    * primary: every distinct cell of 1 to ``threshold - 1`` people is hidden (zeros are
      published, as in :func:`suppress_small_cells`);
    * audit: an intruder knows the published values, that every group is a non-negative
      count, and how cells are built from groups. For every protected quantity of
      ``v`` people (``1 <= v < threshold``) two linear programmes give the lowest and
      highest value consistent with all of it. It is protected when the range reaches
      down to ``max(0, v - protection)`` and up to ``v + protection``;
    * complementary suppression: while a quantity is not protected, one published cell
      that binds its bound (non-zero dual value of the LP; among those the smallest
      non-zero count) is hidden too, and the LP is solved again. Hiding more never narrows a
      range, so quantities already protected stay protected;
    * finally a complement whose value the published cells determine exactly is published
      again: it adds no equation the intruder does not already have.

    Parameters
    ----------
    cells : scipy.sparse matrix or numpy.ndarray
        ``(n_cells, n_groups)`` 0/1 matrix: cell ``i`` counts the people of the groups with
        a 1 in row ``i``. Every published number, margins included, is one row.
    group_counts : sequence of int
        People per group.
    threshold : int, default 10
        Cells (and groups) of ``1 .. threshold - 1`` people are protected.
    protection : int, default 5
        Protection level in people (see above).
    protect_groups : bool, default True
        Also protect small *groups* that no cell shows on its own but that differences of
        cells could reveal (for a panel: the people of a ward and age band who enrolled in
        one month).
    max_complements : int, default 100000
        Give up (raise) rather than loop if the heuristic needs more complements than this.

    Returns
    -------
    LinkedSuppression

    Raises
    ------
    ValueError
        If the inputs do not fit together, or a quantity cannot be protected even with
        every other cell hidden.
    """
    matrix = scipy.sparse.csr_matrix(cells, dtype=float)
    counts = np.asarray(group_counts, dtype=float)
    if matrix.shape[1] != len(counts):
        raise ValueError(
            f"cells has {matrix.shape[1]} columns but there are {len(counts)} group counts"
        )
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("group_counts must be non-negative whole numbers (people)")
    if threshold < 1 or protection < 1:
        raise ValueError("threshold and protection must be at least 1")
    forms, form_of_cell = _unique_rows(matrix)
    values = forms @ counts
    primary_form = (values >= 1) & (values < threshold)
    hidden_form = primary_form.copy()

    targets, kinds, origin = [], [], []
    for k in np.flatnonzero(primary_form):
        targets.append(forms[k])
        kinds.append("cell")
        origin.append(int(np.flatnonzero(form_of_cell == k)[0]))
    if protect_groups:
        shown_alone = {tuple(forms[k].indices) for k in range(forms.shape[0])
                       if forms[k].nnz == 1}  # fmt: skip
        for g in np.flatnonzero((counts >= 1) & (counts < threshold)):
            if (g,) in shown_alone:
                continue
            targets.append(scipy.sparse.csr_matrix(([1.0], ([0], [g])), shape=(1, len(counts))))
            kinds.append("group")
            origin.append(int(g))

    rows = []
    added = 0
    for target, kind, index in zip(targets, kinds, origin, strict=True):
        objective = target.toarray().ravel()
        value = float(objective @ counts)
        need_low, need_high = max(0.0, value - protection), value + protection
        low_ok = high_ok = False  # a side once reached stays reached: ranges only widen
        while True:
            low, high, binding = _range_with_duals(
                objective, forms, values, hidden_form, sides=(not low_ok, not high_ok)
            )
            low_ok = low_ok or low <= need_low + 1e-7
            high_ok = high_ok or high >= need_high - 1e-7
            failing = [b for b, ok in zip(binding, (low_ok, high_ok), strict=True) if not ok]
            if not failing:
                break
            choice = _cheapest_binding(failing, values, hidden_form)
            if choice is None:
                raise ValueError(
                    f"a {kind} of {value:.0f} people cannot be protected to ±{protection} "
                    "even with every binding cell hidden; lower the protection level"
                )
            hidden_form[choice] = True
            added += 1
            if added > max_complements:
                raise ValueError(f"more than {max_complements} complements needed; giving up")
        low, high, _ = _range_with_duals(objective, forms, values, hidden_form)
        rows.append((kind, index, value, low, high, need_low, need_high))

    # A complement that the published cells determine exactly protects nothing: publish it.
    for k in np.flatnonzero(hidden_form & ~primary_form):
        objective = forms[k].toarray().ravel()
        _, high, _ = _range_with_duals(objective, forms, values, hidden_form, sides=(False, True))
        if high > values[k] + 1e-7:
            continue  # not determined; no need for the lower end
        low, _, _ = _range_with_duals(objective, forms, values, hidden_form, sides=(True, False))
        if high - low < 1e-7:
            hidden_form[k] = False
    audit = pd.DataFrame(
        rows, columns=["kind", "index", "value", "low", "high", "required_low", "required_high"]
    )
    return LinkedSuppression(
        hidden=hidden_form[form_of_cell], primary=primary_form[form_of_cell], audit=audit
    )


def linked_cell_ranges(
    cells: scipy.sparse.spmatrix | np.ndarray, published: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The range of every hidden cell that follows from the published ones (an LP audit).

    Parameters
    ----------
    cells : scipy.sparse matrix or numpy.ndarray
        ``(n_cells, n_groups)`` 0/1 matrix as in :func:`suppress_linked_cells`.
    published : sequence of float
        The published value of each cell, NaN where hidden.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lowest and highest value of each cell over all non-negative group counts that
        reproduce every published value (equal to the value where published).
    """
    matrix = scipy.sparse.csr_matrix(cells, dtype=float)
    published = np.asarray(published, dtype=float)
    forms, form_of_cell = _unique_rows(matrix)
    shown = ~np.isnan(published)
    values = np.full(forms.shape[0], np.nan)
    values[form_of_cell[shown]] = published[shown]
    hidden_form = np.isnan(values)
    low, high = np.array(values), np.array(values)
    for k in np.flatnonzero(hidden_form):
        low[k], high[k], _ = _range_with_duals(
            forms[k].toarray().ravel(), forms, values, hidden_form
        )
    return low[form_of_cell], high[form_of_cell]


def _unique_rows(matrix: scipy.sparse.csr_matrix) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    matrix = matrix.tocsr()
    matrix.sort_indices()
    keys: dict[bytes, int] = {}
    form_of = np.empty(matrix.shape[0], dtype=np.int64)
    first = []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        key = matrix.indices[start:end].tobytes() + matrix.data[start:end].tobytes()
        k = keys.setdefault(key, len(keys))
        if k == len(first):
            first.append(i)
        form_of[i] = k
    return matrix[first], form_of


def _range_with_duals(
    objective: np.ndarray,
    forms: scipy.sparse.csr_matrix,
    values: np.ndarray,
    hidden: np.ndarray,
    *,
    sides: tuple[bool, bool] = (True, True),
) -> tuple[float, float, tuple[np.ndarray, np.ndarray]]:
    """Min and max of ``objective @ x`` over x >= 0 with the published forms fixed.

    Also returns, for each end, the published forms whose equations bind it (non-zero duals).
    A side not asked for (``sides``) comes back as -inf / +inf with no binding forms.
    """
    published = np.flatnonzero(~hidden)
    a_eq, b_eq = forms[published], values[published]
    ends, binding = [], []
    for sign, wanted in zip((1.0, -1.0), sides, strict=True):
        if not wanted:
            ends.append(-sign * np.inf)
            binding.append(published[:0])
            continue
        result = scipy.optimize.linprog(
            sign * objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs"
        )
        if result.status != 0:
            raise ValueError(f"the published cells are inconsistent ({result.message})")
        ends.append(sign * result.fun)
        duals = np.asarray(result.eqlin.marginals)
        binding.append(published[np.abs(duals) > 1e-9])
    return ends[0], ends[1], (binding[0], binding[1])


def _cheapest_binding(
    failing: list[np.ndarray], values: np.ndarray, hidden: np.ndarray
) -> int | None:
    candidates = np.unique(np.concatenate(failing))
    candidates = candidates[~hidden[candidates]]
    if len(candidates) == 0:
        return None
    # prefer cells that hold people (a zero may be known to be zero), then the smallest
    return int(min(candidates, key=lambda k: (values[k] == 0, values[k], k)))
