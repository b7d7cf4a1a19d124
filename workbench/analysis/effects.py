"""Policy-effect estimators: interrupted time series, difference-in-differences, event study.

All estimators are ordinary least squares (statsmodels) with standard errors that respect the
data: Newey-West (HAC) for a single time series, clustered by unit for panels. They return an
:class:`EffectEstimate` (or, for event studies, a frame with one row per period) with the
estimate, its standard error, a confidence interval, the number of observations and the method.

Seasonality matters in Sapporo: snow from December to March changes walking and subway use
more than most policies do. Interrupted time series therefore model an annual cycle (Fourier
terms or month-of-year effects) and day-of-week effects; panels absorb it with time effects.

Self-selection matters for programmes people join: the already active enrol. Compare
:func:`compare_groups` (naive, biased) with :func:`difference_in_differences` on weights from
:func:`match_on_pre_period`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.stats
import statsmodels.api as sm

__all__ = [
    "EffectEstimate",
    "compare_groups",
    "difference_in_differences",
    "event_study",
    "interrupted_time_series",
    "match_on_pre_period",
]

Seasonality = Literal["fourier", "month", "none"]


@dataclass(frozen=True)
class EffectEstimate:
    """An estimated effect with its uncertainty.

    Attributes
    ----------
    estimate, std_error, ci_low, ci_high : float
        The effect, its standard error and confidence interval. With ``scale="relative"``
        they are proportions (``0.05`` = +5%).
    n : int
        Observations used.
    method : str
        What was estimated and how (model, standard errors).
    scale : str
        ``"difference"`` (outcome units) or ``"relative"`` (proportional change).
    confidence : float
        Level of the interval (0.95).
    model : object
        The fitted statsmodels results, for diagnostics (not shown in ``repr``).
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    scale: str = "difference"
    confidence: float = 0.95
    model: object = field(default=None, repr=False, compare=False)

    def covers(self, value: float) -> bool:
        """Return whether the confidence interval contains ``value``."""
        return bool(self.ci_low <= value <= self.ci_high)

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of zero."""
        return not self.covers(0.0)

    def to_frame(self) -> pd.DataFrame:
        """Return the estimate as a one-row DataFrame."""
        return pd.DataFrame(
            [
                {
                    "estimate": self.estimate,
                    "std_error": self.std_error,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "n": self.n,
                    "method": self.method,
                    "scale": self.scale,
                    "confidence": self.confidence,
                }
            ]
        )


# --------------------------------------------------------------------------- time series


def interrupted_time_series(
    series: pd.Series,
    *,
    event_date: str | pd.Timestamp,
    event_end: str | pd.Timestamp | None = None,
    seasonality: Seasonality = "fourier",
    fourier_order: int = 3,
    day_of_week: bool | None = None,
    trend: bool = True,
    slope_change: bool = False,
    other_periods: Sequence[tuple[str | pd.Timestamp, str | pd.Timestamp | None]] = (),
    covariates: pd.DataFrame | None = None,
    log: bool = False,
    hac_lags: int | None = None,
    confidence: float = 0.95,
) -> EffectEstimate:
    """Estimate the level change of a time series at a dated event (segmented regression).

    Fits ``y_t = a + b t + season(t) + day_of_week(t) + effect * active_t + e_t`` by OLS with
    Newey-West standard errors. ``active_t`` is 1 from ``event_date`` (to ``event_end`` for a
    temporary event). The counterfactual is the pre-event trend and seasonal pattern, so
    other things that change at the same time are attributed to the event: look for a
    comparison series (:func:`difference_in_differences`) when you can.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by a DatetimeIndex (daily, weekly or monthly). Missing values are dropped.
    event_date : str or Timestamp
        First day of the event.
    event_end : str or Timestamp, optional
        Last day of a temporary event (inclusive); permanent when omitted.
    seasonality : {"fourier", "month", "none"}, default "fourier"
        Annual cycle: ``fourier_order`` sine/cosine pairs of day-of-year (smooth, few
        parameters: suits Sapporo's snow season), or month-of-year effects.
    fourier_order : int, default 3
    day_of_week : bool, optional
        Day-of-week effects; defaults to True for daily series.
    trend : bool, default True
        Linear trend over the whole period.
    slope_change : bool, default False
        Also let the trend change after the event (the estimate stays the level change at
        ``event_date``).
    other_periods : sequence of (start, end) pairs
        Other events to adjust for, each a dummy (``end=None``: permanent).
    covariates : pandas.DataFrame, optional
        Extra regressors aligned on the series' index (e.g. a holiday flag, snowfall).
    log : bool, default False
        Model ``log(y)`` and report the relative effect ``exp(effect) - 1``: right for
        multiplicative effects on counts (ridership, footfall). Values must be positive.
    hac_lags : int, optional
        Newey-West lags; defaults to 14 for daily data, else ``4 (n/100)^(2/9)``.
    confidence : float, default 0.95

    Returns
    -------
    EffectEstimate

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> days = pd.date_range("2022-01-01", "2024-12-31", freq="D")
    >>> rng = np.random.default_rng(0)
    >>> season = 200 * np.cos(2 * np.pi * days.day_of_year / 365.25)
    >>> y = 1000 + season + rng.normal(0, 30, len(days))
    >>> y = pd.Series(y + 50 * (days >= "2024-06-01"), index=days)
    >>> fit = interrupted_time_series(y, event_date="2024-06-01")
    >>> fit.covers(50), fit.excludes_zero
    (True, True)
    """
    index, values = _time_series_values(series, log=log)
    event_start = pd.Timestamp(event_date)
    if not index.min() < event_start <= index.max():
        raise ValueError(
            f"event_date {event_start.date()} must fall inside the series "
            f"({index.min().date()} to {index.max().date()}), with data before it"
        )
    daily = bool(len(index) > 1 and pd.Series(index).diff().median() <= pd.Timedelta(days=1))
    day_of_week = daily if day_of_week is None else day_of_week
    design = pd.DataFrame(index=index)
    design["const"] = 1.0
    years = (index - index[0]).days.to_numpy() / 365.25
    if trend:
        design["trend"] = years
    design = design.join(_seasonal_terms(index, seasonality, fourier_order))
    if day_of_week:
        dow = pd.get_dummies(index.day_of_week, prefix="dow", drop_first=True, dtype=float)
        dow.index = index
        design = design.join(dow)
    design["effect"] = _active(index, event_start, event_end)
    if slope_change:
        design["slope_change"] = np.where(
            index >= event_start, (index - event_start).days.to_numpy() / 365.25, 0.0
        )
    for k, (start, end) in enumerate(other_periods):
        design[f"other_{k}"] = _active(index, pd.Timestamp(start), end)
    if covariates is not None:
        extra = covariates.reindex(index).astype(float)
        if extra.isna().any().any():
            raise ValueError("covariates must cover every date of the series without gaps")
        design = design.join(extra.add_prefix("cov_"))
    if design["effect"].nunique() < 2:
        raise ValueError("the event is active on every date or on none: nothing to compare")
    lags = hac_lags if hac_lags is not None else (14 if daily else _newey_west_lags(len(index)))
    fit = sm.OLS(values, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    method = (
        f"interrupted time series: OLS, {'log ' if log else ''}level change"
        f"{', trend' if trend else ''}"
        f"{', ' + seasonality + ' seasonality' if seasonality != 'none' else ''}"
        f"{', day of week' if day_of_week else ''}; Newey-West SE ({lags} lags)"
    )
    return _estimate_from(
        fit, "effect", n=len(index), method=method, log=log, confidence=confidence
    )


def _time_series_values(series: pd.Series, *, log: bool) -> tuple[pd.DatetimeIndex, np.ndarray]:
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError(
            "series must be indexed by dates (a DatetimeIndex); e.g. frame.set_index('date')[col]"
        )
    clean = pd.to_numeric(series, errors="coerce").astype(float).dropna().sort_index()
    if len(clean) < 12:
        raise ValueError(f"need at least 12 observations, got {len(clean)}")
    values = clean.to_numpy()
    if log:
        if (values <= 0).any():
            raise ValueError("log=True needs positive values; drop zeros or use log=False")
        values = np.log(values)
    return pd.DatetimeIndex(clean.index), values


def _seasonal_terms(index: pd.DatetimeIndex, seasonality: str, order: int) -> pd.DataFrame:
    if seasonality == "none":
        return pd.DataFrame(index=index)
    if seasonality == "month":
        months = pd.get_dummies(index.month, prefix="month", drop_first=True, dtype=float)
        months.index = index
        return months
    if seasonality == "fourier":
        phase = 2 * np.pi * index.day_of_year.to_numpy() / 365.25
        terms = {}
        for k in range(1, order + 1):
            terms[f"sin{k}"] = np.sin(k * phase)
            terms[f"cos{k}"] = np.cos(k * phase)
        return pd.DataFrame(terms, index=index)
    raise ValueError(f"seasonality must be 'fourier', 'month' or 'none', got {seasonality!r}")


def _active(index: pd.DatetimeIndex, start: pd.Timestamp, end) -> np.ndarray:
    on = index >= start
    if end is not None:
        on &= index <= pd.Timestamp(end)
    return np.asarray(on, dtype=float)


def _newey_west_lags(n: int) -> int:
    return max(1, int(np.floor(4 * (n / 100) ** (2 / 9))))


def _estimate_from(
    fit, term: str, *, n: int, method: str, log: bool, confidence: float
) -> EffectEstimate:
    beta = float(fit.params[term])
    se = float(fit.bse[term])
    z = _critical_value(fit, confidence)
    low, high = beta - z * se, beta + z * se
    if log:
        return EffectEstimate(
            estimate=float(np.expm1(beta)),
            std_error=float(np.exp(beta) * se),
            ci_low=float(np.expm1(low)),
            ci_high=float(np.expm1(high)),
            n=n,
            method=method,
            scale="relative",
            confidence=confidence,
            model=fit,
        )
    return EffectEstimate(beta, se, low, high, n, method, "difference", confidence, fit)


def _critical_value(fit, confidence: float) -> float:
    tail = 0.5 + confidence / 2
    if getattr(fit, "use_t", False):
        return float(scipy.stats.t.ppf(tail, fit.df_resid))
    return float(scipy.stats.norm.ppf(tail))


# --------------------------------------------------------------------------- panels


def difference_in_differences(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    post: str,
    unit: str | None = None,
    time: str | None = None,
    weights: str | pd.Series | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    log: bool = False,
    confidence: float = 0.95,
) -> EffectEstimate:
    """Difference-in-differences: the change in treated units beyond the change in controls.

    With ``unit`` and ``time`` this is the two-way fixed-effects estimator: unit and time
    effects are absorbed (by weighted alternating demeaning, so a panel of thousands of
    people does not build thousands of dummies) and ``effect`` multiplies
    ``treated & post``. ``post`` may differ between units (staggered enrolment); with
    effects that change over time since enrolment prefer :func:`event_study`. Without
    ``unit`` / ``time`` the classic 2x2 regression ``y ~ treated + post + treated:post``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and period (or per observation).
    outcome : str
        Column of the outcome (daily steps, boardings).
    treated : str
        Boolean column: the unit is ever treated (a participant, a city-centre station).
    post : str
        Boolean column: the row is after the treatment started (for that unit).
    unit, time : str, optional
        Unit and period columns for fixed effects.
    weights : str or pandas.Series, optional
        A column of observation weights, or weights per unit (a Series indexed by unit, e.g.
        ``match_on_pre_period(...)["weight"]``). Zero-weight rows are dropped.
    cluster : str, optional
        Column to cluster standard errors by; defaults to ``unit`` (else heteroskedasticity-
        robust HC1 errors).
    covariates : sequence of str
        Time-varying numeric controls.
    log : bool, default False
        Model ``log(outcome)``; the estimate is then relative (``exp(b) - 1``).
    confidence : float, default 0.95

    Returns
    -------
    EffectEstimate
    """
    needed = [outcome, treated, post, *covariates] + [c for c in (unit, time, cluster) if c]
    if isinstance(weights, str):
        needed.append(weights)
    _require_columns(frame, needed)
    data = frame[needed].copy()
    data["_w"] = _weights_for(frame, weights, unit)
    data = data[data["_w"] > 0].dropna(subset=[outcome, treated, post, *covariates])
    y = data[outcome].astype(float).to_numpy()
    if log:
        if (y <= 0).any():
            raise ValueError("log=True needs a positive outcome")
        y = np.log(y)
    is_treated = data[treated].astype(bool).to_numpy()
    is_post = data[post].astype(bool).to_numpy()
    regressors = {"effect": (is_treated & is_post).astype(float)}
    for c in covariates:
        regressors[c] = data[c].astype(float).to_numpy()
    absorbed = [c for c in (unit, time) if c]
    if unit is None:
        regressors["treated"] = is_treated.astype(float)
    if time is None:
        regressors["post"] = is_post.astype(float)
    x = pd.DataFrame(regressors, index=data.index)
    cluster = cluster or unit
    fit = _absorbed_wls(y, x, data, absorbed, data["_w"].to_numpy(), cluster)
    fe = " + ".join(f"{c} effects" for c in absorbed) or "2x2"
    se = f"SE clustered by {cluster}" if cluster else "HC1 SE"
    weighted = ", weighted" if weights is not None else ""
    method = f"difference-in-differences: {'log ' if log else ''}WLS with {fe}{weighted}; {se}"
    return _estimate_from(fit, "effect", n=len(data), method=method, log=log, confidence=confidence)


def event_study(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    event_time: str,
    window: tuple[int, int] = (-6, 12),
    reference: int = -1,
    weights: str | pd.Series | None = None,
    cluster: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Effects by period relative to treatment, with unit and time fixed effects.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and period.
    outcome, unit, time : str
        Columns of the outcome, the unit and the calendar period.
    event_time : str
        Integer periods since the unit's treatment (0 = first treated period, -1 = the
        period before); missing for never-treated units, which serve as controls.
    window : (int, int), default (-6, 12)
        Relative periods estimated separately; those beyond are binned into the end periods.
    reference : int, default -1
        The omitted period: estimates are relative to it.
    weights, cluster, confidence
        As in :func:`difference_in_differences`.

    Returns
    -------
    pandas.DataFrame
        One row per relative period: ``relative_time``, ``estimate``, ``std_error``,
        ``ci_low``, ``ci_high``, ``n`` (treated observations at that period); the reference
        period is included with estimate 0.
    """
    needed = [outcome, unit, time, event_time] + ([cluster] if cluster else [])
    if isinstance(weights, str):
        needed.append(weights)
    _require_columns(frame, needed)
    low, high = window
    if not low <= reference <= high:
        raise ValueError(f"reference {reference} must lie inside window {window}")
    data = frame[needed].copy()
    data["_w"] = _weights_for(frame, weights, unit)
    data = data[data["_w"] > 0].dropna(subset=[outcome])
    relative = pd.to_numeric(data[event_time], errors="coerce")
    binned = relative.clip(low, high)
    periods = [k for k in range(low, high + 1) if k != reference]
    x = pd.DataFrame(
        {f"rel_{k}": (binned == k).astype(float).to_numpy() for k in periods}, index=data.index
    )
    x = x.loc[:, x.sum() > 0]
    cluster = cluster or unit
    fit = _absorbed_wls(
        data[outcome].astype(float).to_numpy(),
        x,
        data,
        [unit, time],
        data["_w"].to_numpy(),
        cluster,
    )
    z = _critical_value(fit, confidence)
    rows = []
    for k in range(low, high + 1):
        name = f"rel_{k}"
        n_k = int((binned == k).sum())
        if k == reference:
            rows.append((k, 0.0, 0.0, 0.0, 0.0, n_k))
        elif name in fit.params.index:
            b, s = float(fit.params[name]), float(fit.bse[name])
            rows.append((k, b, s, b - z * s, b + z * s, n_k))
    return pd.DataFrame(
        rows, columns=["relative_time", "estimate", "std_error", "ci_low", "ci_high", "n"]
    )


def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} not in the frame (it has {list(frame.columns)})")


def _weights_for(frame: pd.DataFrame, weights, unit: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(frame))
    if isinstance(weights, str):
        w = frame[weights].astype(float).to_numpy()
    else:
        if unit is None:
            raise ValueError("weights per unit (a Series) need unit= to map them to rows")
        w = frame[unit].map(weights).astype(float).fillna(0.0).to_numpy()
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be finite and non-negative")
    return w


def _absorbed_wls(
    y: np.ndarray,
    x: pd.DataFrame,
    data: pd.DataFrame,
    absorbed: Sequence[str],
    w: np.ndarray,
    cluster: str | None,
):
    """WLS of y on x with the given categorical effects partialled out (Frisch-Waugh)."""
    columns = np.column_stack([y, x.to_numpy(dtype=float)])
    if absorbed:
        codes = [pd.factorize(data[c])[0] for c in absorbed]
        columns = _demean(columns, codes, w)
        design = pd.DataFrame(columns[:, 1:], columns=x.columns, index=x.index)
    else:
        design = sm.add_constant(x, has_constant="add")
    target = columns[:, 0]
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        fit = sm.WLS(target, design, weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups})
    else:
        fit = sm.WLS(target, design, weights=w).fit(cov_type="HC1")
    return fit


def _demean(
    columns: np.ndarray, codes: Sequence[np.ndarray], w: np.ndarray, *, tol: float = 1e-10
) -> np.ndarray:
    """Weighted alternating projections: subtract group means until they are all zero."""
    out = columns.copy()
    weight_sums = [np.bincount(c, weights=w) for c in codes]
    scale = np.maximum(np.abs(out).max(axis=0), 1.0)
    for _ in range(1000):
        largest = 0.0
        for c, total in zip(codes, weight_sums, strict=True):
            means = (
                np.column_stack(
                    [np.bincount(c, weights=w * out[:, j]) for j in range(out.shape[1])]
                )
                / np.where(total > 0, total, 1.0)[:, None]
            )
            out -= means[c]
            largest = max(largest, float((np.abs(means) / scale).max()))
        if largest < tol or len(codes) == 1:
            break
    return out


# --------------------------------------------------------------------------- selection


def compare_groups(
    frame: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    treated_value=True,
    confidence: float = 0.95,
) -> EffectEstimate:
    """Naive comparison: mean outcome of the treated group minus the rest (Welch).

    This is what a headline "participants walk 2,400 more steps" compares. Under
    self-selection (active people join) it mixes the effect with who joined; use it to show
    the bias, not as an effect.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per person (e.g. their mean steps after enrolment).
    outcome : str
    group : str
        Column telling the groups apart.
    treated_value : default True
        Value of ``group`` marking the treated.
    confidence : float, default 0.95

    Returns
    -------
    EffectEstimate
    """
    _require_columns(frame, [outcome, group])
    values = frame[outcome].astype(float)
    is_treated = (frame[group] == treated_value).to_numpy()
    a, b = values[is_treated].dropna(), values[~is_treated].dropna()
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each group needs at least two non-missing outcomes")
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = float(scipy.stats.t.ppf(0.5 + confidence / 2, df))
    return EffectEstimate(
        diff,
        se,
        diff - t * se,
        diff + t * se,
        len(a) + len(b),
        "naive difference in means (Welch); biased under self-selection",
        "difference",
        confidence,
    )


def match_on_pre_period(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    treated: str,
    pre: str,
    covariates: Sequence[str] = (),
    method: Literal["ipw", "nearest"] = "ipw",
    n_neighbours: int = 1,
    use_pre_trend: bool = False,
    time: str | None = None,
    trim: float = 0.01,
) -> pd.DataFrame:
    """Weights that make the controls look like the treated before treatment.

    Each unit is summarised by its mean outcome in the pre-period (optionally its linear
    trend there, and any ``covariates``, which must be constant within a unit). This is
    right when people select on their recent outcome (the already active join). If they
    select on a stable trait instead, matching on a noisy pre-period mean can itself bias
    DiD by regression to the mean: use a long pre-period, and compare with unweighted DiD.

    ``"ipw"`` fits a logistic propensity model and gives controls
    the ATT weight ``p / (1 - p)`` (treated units weigh 1); ``"nearest"`` matches each
    treated unit to its ``n_neighbours`` nearest controls on the standardised summaries
    (with replacement; a control's weight is how often it is used).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and period.
    outcome, unit, treated : str
        Outcome, unit and ever-treated columns.
    pre : str
        Boolean column: the row is in the pre-period used for matching (for everyone the
        same calendar window, e.g. the year before the first enrolment wave).
    covariates : sequence of str
        Unit-level covariates (categoricals are one-hot encoded).
    method : {"ipw", "nearest"}, default "ipw"
    n_neighbours : int, default 1
    use_pre_trend : bool, default False
        Also match on each unit's pre-period slope (needs three or more pre periods per
        unit and ``time``). Noisy slopes dilute nearest-neighbour matching; prefer it with
        ``"ipw"``.
    time : str, optional
        Numeric (or datetime) period column, needed for ``use_pre_trend``.
    trim : float, default 0.01
        Propensities are clipped to ``[trim, 1 - trim]`` so no control dominates.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit: ``pre_mean``, ``pre_trend`` (if asked), ``treated``, ``propensity``
        (ipw), ``weight``. Pass ``result["weight"]`` as ``weights=`` to
        :func:`difference_in_differences` or :func:`event_study`. Control weights are scaled
        to sum to the number of treated units.
    """
    _require_columns(frame, [outcome, unit, treated, pre, *covariates])
    rows = frame[frame[pre].astype(bool)].dropna(subset=[outcome])
    if rows.empty:
        raise ValueError(f"no rows with {pre!r} true: the pre-period is empty")
    summary = rows.groupby(unit)[outcome].mean().rename("pre_mean").to_frame()
    per_unit_rows = rows.groupby(unit).size()
    if use_pre_trend:
        if per_unit_rows.min() < 3 or time is None:
            raise ValueError(
                "use_pre_trend needs time= and at least three pre-period rows per unit"
            )
        order = pd.to_numeric(rows[time]).astype(float)
        centred = order - order.groupby(rows[unit]).transform("mean")
        y_c = rows[outcome] - rows.groupby(unit)[outcome].transform("mean")
        num = (centred * y_c).groupby(rows[unit]).sum()
        den = (centred**2).groupby(rows[unit]).sum()
        summary["pre_trend"] = num / den.where(den > 0)
    first = frame.groupby(unit).first()
    summary["treated"] = first[treated].astype(bool).reindex(summary.index)
    features = summary.drop(columns="treated")
    if covariates:
        dummies = pd.get_dummies(first[list(covariates)], drop_first=True, dtype=float)
        features = features.join(dummies.reindex(summary.index))
    features = features.fillna(features.mean())
    std = features.std(ddof=0).replace(0, 1.0)
    z = (features - features.mean()) / std
    is_treated = summary["treated"].to_numpy()
    if is_treated.all() or not is_treated.any():
        raise ValueError("matching needs both treated and control units in the pre-period")
    weight = np.zeros(len(summary))
    weight[is_treated] = 1.0
    if method == "ipw":
        logit = sm.Logit(is_treated.astype(float), sm.add_constant(z, has_constant="add"))
        p = np.clip(logit.fit(disp=0).predict(), trim, 1 - trim)
        summary["propensity"] = p
        weight[~is_treated] = p[~is_treated] / (1 - p[~is_treated])
    elif method == "nearest":
        from scipy.spatial import cKDTree

        controls = np.flatnonzero(~is_treated)
        k = min(n_neighbours, len(controls))
        _, found = cKDTree(z.to_numpy()[controls]).query(z.to_numpy()[is_treated], k=k)
        found = np.asarray(found).reshape(len(found), -1)
        np.add.at(weight, controls[found.ravel()], 1.0 / k)
    else:
        raise ValueError(f"method must be 'ipw' or 'nearest', got {method!r}")
    control_total = weight[~is_treated].sum()
    weight[~is_treated] *= is_treated.sum() / control_total
    summary["weight"] = weight
    return summary
