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
    "staggered_difference_in_differences",
]

Seasonality = Literal["fourier", "month", "none"]
Inference = Literal["auto", "newey-west", "placebo"]


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
    repeats: Sequence[tuple[str | pd.Timestamp, str | pd.Timestamp]] = (),
    comparison: pd.Series | None = None,
    seasonality: Seasonality = "fourier",
    fourier_order: int | Literal["auto"] = "auto",
    day_of_week: bool | None = None,
    holidays: bool | None = None,
    trend: bool = True,
    slope_change: bool = False,
    other_periods: Sequence[tuple[str | pd.Timestamp, str | pd.Timestamp | None]] = (),
    covariates: pd.DataFrame | None = None,
    log: bool = False,
    inference: Inference = "auto",
    hac_lags: int | None = None,
    placebo_season_days: int = 45,
    confidence: float = 0.95,
) -> EffectEstimate:
    """Estimate the level change of a time series at a dated event (segmented regression).

    Fits ``y_t = a + b t + season(t) + day_type(t) + effect * active_t + e_t`` by OLS.
    ``active_t`` is 1 from ``event_date`` (to ``event_end`` for a temporary event, and in
    the ``repeats`` windows of a recurring one). The counterfactual is the pre-event trend
    and seasonal pattern, so other things that change at the same time are attributed to
    the event: give a ``comparison`` series when you can (a difference-in-differences).

    Two kinds of interval (``inference``):

    - ``"newey-west"``: OLS with Newey-West (HAC) standard errors. Right for long or
      permanent events; wrong for short ones, because the residuals inside a short window
      sum to zero, so the kernel's cross-products shrink the variance (an 8-day window
      with 14 lags covers about half the time).
    - ``"placebo"`` (daily series only): randomisation inference. The same model is refitted
      with a dummy for every *placebo* window of the same length (the event's windows
      shifted together by a whole number of days) that starts within
      ``placebo_season_days`` of the event's calendar date in any year of the data and
      touches no modelled event; the interval is the estimate minus the placebo
      estimates' quantiles, so it is as wide as the model's errors really are over windows
      of that length in that season (snowstorms included).

    ``"auto"`` (default) uses placebo inference for temporary events of at most
    ``4 * hac_lags`` days in daily data, otherwise Newey-West.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by a DatetimeIndex (daily, weekly or monthly). Missing values are dropped.
    event_date : str or Timestamp
        First day of the event.
    event_end : str or Timestamp, optional
        Last day of a temporary event (inclusive); permanent when omitted.
    repeats : sequence of (start, end) pairs
        Other occurrences of the same temporary event (e.g. other years' Snow Festivals),
        estimated as one common effect.
    comparison : pandas.Series, optional
        A control series not affected by the event. The model is then fitted to
        ``log(series / comparison)`` (``log=True``) or ``series - comparison``: shocks common
        to both cancel (difference-in-differences with parallel trends when ``trend=False``
        and ``seasonality="none"``).
    seasonality : {"fourier", "month", "none"}, default "fourier"
        Annual cycle: sine/cosine pairs of day-of-year, or month-of-year effects.
    fourier_order : int or "auto", default "auto"
        Number of sine/cosine pairs; ``"auto"`` picks 1 to 12 by AIC, so a flat-topped
        season such as Sapporo's snow (zero from May to October) gets the harmonics it needs.
    day_of_week : bool, optional
        Day-of-week effects; defaults to True for daily series.
    holidays : bool, optional
        Japanese public holidays and the customary breaks (New Year, Golden Week, Obon, from
        the project's calendar) as their own day type; defaults to True for daily series.
    trend : bool, default True
        Linear trend over the whole period.
    slope_change : bool, default False
        Also let the trend change after the event (the estimate stays the level change at
        ``event_date``).
    other_periods : sequence of (start, end) pairs
        Other events to adjust for, each a dummy (``end=None``: permanent).
    covariates : pandas.DataFrame, optional
        Extra regressors aligned on the series' index (e.g. snowfall).
    log : bool, default False
        Model ``log(y)`` and report the relative effect ``exp(effect) - 1``: right for
        multiplicative effects on counts (ridership, footfall). Values must be positive.
    inference : {"auto", "newey-west", "placebo"}, default "auto"
    hac_lags : int, optional
        Newey-West lags; defaults to 14 for daily data, else ``4 (n/100)^(2/9)``.
    placebo_season_days : int, default 45
        Placebo windows start within this many days of the event's date (any year); widened
        when fewer than ``2 / (1 - confidence) - 1`` windows qualify.
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
    if comparison is not None:
        series = _relative_to(series, comparison, log=log)
    index, values = _time_series_values(series, log=log and comparison is None)
    event_start = pd.Timestamp(event_date)
    if not index.min() < event_start <= index.max():
        raise ValueError(
            f"event_date {event_start.date()} must fall inside the series "
            f"({index.min().date()} to {index.max().date()}), with data before it"
        )
    windows = [(event_start, pd.Timestamp(event_end) if event_end is not None else None)]
    for start, end in repeats:
        if end is None or event_end is None:
            raise ValueError("repeats are for temporary events: give event_end and each end")
        windows.append((pd.Timestamp(start), pd.Timestamp(end)))
    daily = bool(len(index) > 1 and pd.Series(index).diff().median() <= pd.Timedelta(days=1))
    day_of_week = daily if day_of_week is None else day_of_week
    holidays = daily if holidays is None else holidays
    lags = hac_lags if hac_lags is not None else (14 if daily else _newey_west_lags(len(index)))

    base = pd.DataFrame(index=index)
    base["const"] = 1.0
    if trend:
        base["trend"] = (index - index[0]).days.to_numpy() / 365.25
    if seasonality != "fourier":
        base = base.join(_seasonal_terms(index, seasonality, 0))
    base = base.join(_day_types(index, day_of_week=day_of_week, holidays=holidays))
    active = np.zeros(len(index))
    for start, end in windows:
        active = np.maximum(active, _active(index, start, end))
    base["effect"] = active
    if slope_change:
        base["slope_change"] = np.where(
            index >= event_start, (index - event_start).days.to_numpy() / 365.25, 0.0
        )
    for k, (start, end) in enumerate(other_periods):
        base[f"other_{k}"] = _active(index, pd.Timestamp(start), end)
    if covariates is not None:
        extra = covariates.reindex(index).astype(float)
        if extra.isna().any().any():
            raise ValueError("covariates must cover every date of the series without gaps")
        base = base.join(extra.add_prefix("cov_"))
    base = base.loc[:, (base != 0).any() | (base.columns == "effect")]

    most = max(12, fourier_order if isinstance(fourier_order, int) else 0)
    harmonics = _seasonal_terms(index, "fourier", most) if seasonality == "fourier" else None

    def design_for(order: int) -> pd.DataFrame:
        if harmonics is None:
            return base
        names = [f"{f}{k}" for k in range(1, order + 1) for f in ("sin", "cos")]
        return pd.concat([base, harmonics[names]], axis=1)

    order = fourier_order
    if seasonality == "fourier" and fourier_order == "auto":
        order = _fourier_order_by_aic(values, base.to_numpy(float), harmonics.to_numpy(float))
    design = design_for(int(order) if order != "auto" else 3)
    if design["effect"].nunique() < 2:
        raise ValueError("the event is active on every date or on none: nothing to compare")
    length = max((end - start).days + 1 for start, end in windows) if event_end else None
    if inference == "auto":
        inference = "placebo" if daily and length is not None and length <= 4 * lags else (
            "newey-west"
        )
    fit = sm.OLS(values, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    season = (
        f"Fourier seasonality ({order} pairs{', by AIC' if fourier_order == 'auto' else ''})"
        if seasonality == "fourier"
        else f"{seasonality} seasonality"
    )
    parts = [
        "comparison series" if comparison is not None else "",
        "trend" if trend else "",
        season if seasonality != "none" else "",
        "day of week" if day_of_week else "",
        "holidays" if holidays else "",
    ]
    model = f"{'log ' if log else ''}level change" + "".join(f", {p}" for p in parts if p)
    kind = "difference-in-differences (comparison series)" if comparison is not None else (
        "interrupted time series"
    )
    if inference == "placebo":
        if not daily:
            raise ValueError("placebo inference needs a daily series")
        return _placebo_estimate(
            fit, design, values, index, windows, other_periods,
            season_days=placebo_season_days, kind=kind, model=model, log=log,
            confidence=confidence,
        )  # fmt: skip
    if inference != "newey-west":
        raise ValueError(f"inference must be 'auto', 'newey-west' or 'placebo', got {inference!r}")
    method = f"{kind}: OLS, {model}; Newey-West SE ({lags} lags)"
    return _estimate_from(
        fit, "effect", n=len(index), method=method, log=log, confidence=confidence
    )


def _relative_to(series: pd.Series, comparison: pd.Series, *, log: bool) -> pd.Series:
    both = pd.concat([series, comparison], axis=1, join="inner").astype(float).dropna()
    if log:
        if (both <= 0).any().any():
            raise ValueError("log=True needs positive values in the series and the comparison")
        return np.log(both.iloc[:, 0]) - np.log(both.iloc[:, 1])
    return both.iloc[:, 0] - both.iloc[:, 1]


def _day_types(index: pd.DatetimeIndex, *, day_of_week: bool, holidays: bool) -> pd.DataFrame:
    """Day-of-week dummies (Monday the reference) and holiday dummies.

    A holiday on a weekday and one on a Saturday each get their own dummy (a Sunday
    holiday is a Sunday), so the model nests "a holiday is like a Sunday" (Sapporo's
    ridership) and "holidays do not matter".
    """
    out = pd.DataFrame(index=index)
    dow = index.day_of_week.to_numpy()
    if day_of_week:
        for k in range(1, 7):
            out[f"dow_{k}"] = (dow == k).astype(float)
    if holidays:
        from workbench.datasets._calendar import is_holiday

        holiday = is_holiday(index)
        if day_of_week:
            out["holiday_weekday"] = (holiday & (dow < 5)).astype(float)
            out["holiday_saturday"] = (holiday & (dow == 5)).astype(float)
        else:
            out["holiday"] = holiday.astype(float)
    return out


def _fourier_order_by_aic(
    values: np.ndarray, base: np.ndarray, harmonics: np.ndarray, *, max_order: int = 12
) -> int:
    """The number of Fourier pairs (1 to ``max_order``) with the lowest AIC.

    ``harmonics`` holds the pairs in order (sin1, cos1, sin2, cos2, ...).
    """
    best, best_aic = 1, np.inf
    n = len(values)
    for order in range(1, max_order + 1):
        x = np.hstack([base, harmonics[:, : 2 * order]])
        if x.shape[1] >= n - 10:
            break
        try:
            coef = np.linalg.solve(x.T @ x, x.T @ values)
        except np.linalg.LinAlgError:
            coef = np.linalg.lstsq(x, values, rcond=None)[0]
        rss = float(((values - x @ coef) ** 2).sum())
        aic = n * np.log(rss / n) + 2 * x.shape[1]
        if aic < best_aic:
            best, best_aic = order, aic
    return best


def _placebo_estimate(
    fit,
    design: pd.DataFrame,
    values: np.ndarray,
    index: pd.DatetimeIndex,
    windows: list[tuple[pd.Timestamp, pd.Timestamp]],
    other_periods,
    *,
    season_days: int,
    kind: str,
    model: str,
    log: bool,
    confidence: float,
) -> EffectEstimate:
    """Randomisation inference over placebo windows of the event's length and season."""
    alpha = 1 - confidence
    needed = int(np.ceil(2 / alpha - 1))
    offsets = _placebo_offsets(index, windows, other_periods)
    span = season_days
    while True:
        chosen = [d for d in offsets if _near_whole_year(d, span)]
        if len(chosen) >= needed or span >= 183:
            break
        span = min(183, span * 2)
    if len(chosen) < needed:
        raise ValueError(
            f"placebo inference needs at least {needed} windows of the event's length that "
            f"touch no event; the series allows {len(chosen)}: use a longer series"
        )
    x = design.to_numpy(dtype=float)
    q, _ = np.linalg.qr(x)
    resid = values - q @ (q.T @ values)
    days = index.to_numpy().astype("datetime64[D]").astype(np.int64)[:, None]
    shifts = np.asarray(chosen)[None, :]
    on = np.zeros((len(index), len(chosen)), bool)
    for start, end in windows:
        on |= (days >= _day_number(start) + shifts) & (days <= _day_number(end) + shifts)
    placebo = on.astype(float)
    placebo_resid = placebo - q @ (q.T @ placebo)
    effects = (placebo_resid * resid[:, None]).sum(axis=0) / (placebo_resid**2).sum(axis=0)
    beta = float(fit.params["effect"])
    ordered = np.sort(effects)
    m = len(ordered)
    k_high = min(m, int(np.ceil((1 - alpha / 2) * (m + 1))))
    k_low = max(1, m + 1 - k_high)
    low, high = beta - ordered[k_high - 1], beta - ordered[k_low - 1]
    se = float(np.std(effects, ddof=1))
    method = (
        f"{kind}: OLS, {model}; placebo (randomisation) inference over {m} windows of the "
        f"same length starting within {span} days of the event's date in any year"
    )
    if log:
        return EffectEstimate(
            float(np.expm1(beta)), float(np.exp(beta) * se), float(np.expm1(low)),
            float(np.expm1(high)), len(index), method, "relative", confidence, fit,
        )  # fmt: skip
    return EffectEstimate(beta, se, low, high, len(index), method, "difference", confidence, fit)


def _day_number(when) -> int:
    return int(np.datetime64(pd.Timestamp(when), "D").astype(np.int64))


def _placebo_offsets(index: pd.DatetimeIndex, windows, other_periods) -> list[int]:
    """Shifts (days) that move every event window inside the data and onto no other event."""
    first, last = _day_number(index.min()), _day_number(index.max())
    spans = [(_day_number(s), _day_number(e)) for s, e in windows]
    blocked = list(spans)
    boundaries = []
    for start, end in other_periods:
        if end is None:
            boundaries.append(_day_number(start))  # must not straddle a permanent change
        else:
            blocked.append((_day_number(start), _day_number(end)))
    d = np.arange(-(last - first), last - first + 1)
    ok = d != 0
    for s, e in spans:
        lo, hi = s + d, e + d
        ok &= (lo >= first) & (hi <= last)
        for bs, be in blocked:
            ok &= ~((lo <= be) & (bs <= hi))
        for b in boundaries:
            ok &= ~((lo < b) & (b <= hi))
    return [int(x) for x in d[ok]]


def _near_whole_year(days: int, span: int) -> bool:
    years = round(days / 365.25)
    return abs(days - years * 365.25) <= span


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
    if fit is not None and getattr(fit, "use_t", False):
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


def staggered_difference_in_differences(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    baseline: Sequence[str] = (),
    weights: pd.Series | None = None,
    control_group: Literal["not_yet_treated", "never_treated"] = "not_yet_treated",
    exclude_times: Sequence = (),
    confidence: float = 0.95,
) -> EffectEstimate:
    """Difference-in-differences for staggered adoption with effects that change over time.

    Callaway and Sant'Anna's (2021) group-time estimator: for every cohort ``g`` (units
    first treated in period ``g``) and period ``t``, ``ATT(g, t)`` compares the cohort's
    change from ``g - 1`` (the last untreated period) to ``t`` with the change of units not
    yet treated at ``t`` (``control_group="not_yet_treated"``, never-treated units
    included) or never treated. Already-treated units are never controls, which is what
    biases two-way fixed effects when effects build up. With ``baseline`` covariates the
    controls' change is predicted from them by least squares (outcome regression: parallel
    trends only among units alike at baseline, e.g. in pre-period steps when winter lowers
    everyone's walking *proportionally*).

    The overall effect is the average of the post-treatment ``ATT(g, t)`` weighted by the
    number of treated units in each: the mean effect over treated unit-periods. Standard
    errors come from each unit's influence function, summed over every cell it enters
    (clustered by unit, so a control used in many cells or with a matching weight is
    counted with its correlation).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit and period (a missing row or outcome drops the unit from the cells
        that need it).
    outcome, unit : str
    time : str
        Ordered period column (integers such as ``year * 12 + month``, or dates).
    first_treated : str
        The unit's first treated period (same values as ``time``); missing for units never
        treated.
    baseline : sequence of str
        Unit-level covariates (constant within a unit; categoricals are one-hot encoded) for
        the outcome regression.
    weights : pandas.Series, optional
        Weight per unit (indexed by unit), e.g. ``match_on_pre_period(...)["weight"]``.
    control_group : {"not_yet_treated", "never_treated"}
    exclude_times : sequence
        Periods left out of the overall average (e.g. a temporary campaign that adds its own
        effect); their ``ATT(g, t)`` are still in ``model``.
    confidence : float, default 0.95

    Returns
    -------
    EffectEstimate
        ``model`` is the frame of ``ATT(g, t)``: ``cohort``, ``time``, ``event_time``
        (periods since treatment), ``estimate``, ``std_error``, ``ci_low``, ``ci_high``,
        ``n_treated``, ``n_control``.
    """
    _require_columns(frame, [outcome, unit, time, first_treated, *baseline])
    data = frame.dropna(subset=[outcome])
    wide = data.pivot_table(index=unit, columns=time, values=outcome, aggfunc="mean")
    periods = list(wide.columns)
    position = {p: k for k, p in enumerate(periods)}
    units = wide.index
    y = wide.to_numpy(dtype=float)
    first = frame.groupby(unit)[first_treated].first().reindex(units)
    cohort = np.array(
        [position.get(v, np.nan) if pd.notna(v) else np.inf for v in first], dtype=float
    )
    if np.isnan(cohort).any():
        raise ValueError(f"{first_treated} holds periods that are not values of {time}")
    w = np.ones(len(units))
    if weights is not None:
        w = weights.reindex(units).astype(float).fillna(0.0).to_numpy()
    if baseline:
        covs = frame.groupby(unit)[list(baseline)].first().reindex(units)
        x = pd.get_dummies(covs, drop_first=True, dtype=float).to_numpy(dtype=float)
        x = np.column_stack([np.ones(len(units)), x])
    else:
        x = np.ones((len(units), 1))
    excluded = {position[p] for p in exclude_times if p in position}
    z = _critical_value(None, confidence)
    rows, psi_total, total = [], np.zeros(len(units)), 0.0
    for g in sorted({c for c in cohort if np.isfinite(c)}):
        g = int(g)
        if g == 0:
            continue  # treated from the first period: no untreated period to compare with
        base = g - 1
        for t in range(len(periods)):
            if t == base:
                continue
            change = y[:, t] - y[:, base]
            ok = np.isfinite(change) & (w > 0)
            treated = ok & (cohort == g)
            if control_group == "never_treated":
                control = ok & np.isinf(cohort)
            else:
                control = ok & (cohort > max(t, base)) & (cohort != g)
            if treated.sum() < 2 or control.sum() < x.shape[1] + 1:
                continue
            att, psi = _regression_adjusted_att(change, x, w, treated, control)
            se = float(np.sqrt((psi**2).sum()))
            n_t = int(treated.sum())
            rows.append((periods[g], periods[t], t - g, att, se, att - z * se, att + z * se,
                         n_t, int(control.sum())))  # fmt: skip
            if t >= g and t not in excluded:
                psi_total += n_t * psi
                total += n_t
                rows[-1] = (*rows[-1], True)
            else:
                rows[-1] = (*rows[-1], False)
    if total == 0:
        raise ValueError("no cohort has both a period before treatment and controls after it")
    cells = pd.DataFrame(
        rows,
        columns=["cohort", "time", "event_time", "estimate", "std_error", "ci_low",
                 "ci_high", "n_treated", "n_control", "aggregated"],
    )  # fmt: skip
    post = cells[cells["aggregated"]]
    estimate = float((post["estimate"] * post["n_treated"]).sum() / total)
    psi_total /= total
    n_units = int((w > 0).sum())
    se = float(np.sqrt((psi_total**2).sum() * n_units / max(n_units - 1, 1)))
    adjusted = f", outcome regression on {', '.join(baseline)}" if baseline else ""
    weighted = ", weighted" if weights is not None else ""
    method = (
        "staggered difference-in-differences (Callaway-Sant'Anna): ATT(g,t) against "
        f"{control_group.replace('_', '-')} units{adjusted}{weighted}, averaged over treated "
        "unit-periods; SE from influence functions, clustered by unit"
    )
    return EffectEstimate(
        estimate, se, estimate - z * se, estimate + z * se, int(post["n_treated"].sum()),
        method, "difference", confidence, cells,
    )  # fmt: skip


def _regression_adjusted_att(
    change: np.ndarray, x: np.ndarray, w: np.ndarray, treated: np.ndarray, control: np.ndarray
) -> tuple[float, np.ndarray]:
    """ATT of one cell and each unit's influence on it (outcome regression on ``x``)."""
    xc, wc, yc = x[control], w[control], change[control]
    gram = xc.T @ (xc * wc[:, None])
    beta = np.linalg.lstsq(gram, xc.T @ (wc * yc), rcond=None)[0]
    wt = w[treated]
    residual_t = change[treated] - x[treated] @ beta
    att = float((wt * residual_t).sum() / wt.sum())
    psi = np.zeros(len(change))
    psi[treated] = wt * (residual_t - att) / wt.sum()
    x_bar = (x[treated] * wt[:, None]).sum(axis=0) / wt.sum()
    lever = np.linalg.lstsq(gram, x_bar, rcond=None)[0]
    psi[control] = -(xc @ lever) * wc * (yc - xc @ beta)
    return att, psi


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
