"""The policy-effects dashboard's data and views: ridership and foot traffic around events.

Both series are open products: daily subway boardings per station (``subway-ridership``) and
daily pedestrian totals per sensor (``city-centre-pedestrians-daily``, the open aggregate of
the commercial hourly counts). They are synthetic (generated with dated events of known
effect), so each estimate is shown next to the generator's true effect. Estimators come from
:mod:`workbench.analysis.effects`: an interrupted time series on the selected series (log
scale: relative effects, annual Fourier seasonality with the number of harmonics chosen by
AIC, day of week, Japanese holidays, other events adjusted for) or a difference-in-differences
of the log ratio to the units the event did not affect; when it affected every unit, the
interrupted time series is shown instead, with a note saying why. Short events (the 8-day
Snow Festival) get placebo (randomisation) intervals over windows of the same length in the
same season, not Newey-West errors (ADR 0125).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.analysis.effects import (
    EffectEstimate,
    interrupted_time_series,
)
from workbench.dashboards._kit import figure_png
from workbench.datasets.events import CITY_CENTRE_STATIONS, DEFAULT_EVENTS, PolicyEvent

__all__ = [
    "EVENTS",
    "EffectView",
    "PolicyData",
    "affected_discs",
    "estimate_effect",
    "event_window",
    "interval_sentence",
    "load_pedestrians",
    "load_ridership",
    "plot_effect",
]

#: The dated events of the synthetic generator (their true effects are known).
EVENTS: dict[str, PolicyEvent] = {event.key: event for event in DEFAULT_EVENTS}
CENTRE = "centre"
METHODS = {"its": "Interrupted time series", "did": "Difference-in-differences"}


@dataclass
class PolicyData:
    """Daily counts (``date`` × unit) with the units' names and locations."""

    kind: str  # "ridership" | "pedestrian"
    daily: pd.DataFrame
    units: gpd.GeoDataFrame  # code, name, geometry
    centre: tuple[str, ...] = field(default_factory=tuple)

    @property
    def noun(self) -> str:
        return "boardings" if self.kind == "ridership" else "pedestrians"


def _daily_wide(history: pd.DataFrame, attr: str, codes: dict[str, str]) -> pd.DataFrame:
    frame = history.reset_index()
    frame["unit"] = frame["entity_id"].map(codes)
    frame["date"] = frame["time"].dt.tz_convert("Asia/Tokyo").dt.tz_localize(None).dt.normalize()
    wide = frame.pivot_table(index="date", columns="unit", values=attr, aggfunc="sum")
    return wide.sort_index().astype(float)


def load_ridership(exchange: Any, product: str = "subway-ridership") -> PolicyData:
    """Daily boardings per subway station (synthetic product) through the client."""
    stations = exchange.entities(product, type="RidershipObserved").to_geopandas()
    codes = dict(zip(stations["id"], stations["stationCode"].astype(str), strict=True))
    history = exchange.history(product, type="RidershipObserved", attr="peopleCount")
    daily = _daily_wide(history, "peopleCount", codes)
    units = gpd.GeoDataFrame(
        {
            "code": stations["stationCode"].astype(str).to_numpy(),
            "name": (stations["stationCode"] + " " + stations["name"]).astype(str).to_numpy(),
        },
        geometry=stations.geometry.to_numpy(),
        crs=stations.crs or "EPSG:4326",
    ).sort_values("code", ignore_index=True)
    centre = tuple(c for c in CITY_CENTRE_STATIONS if c in daily.columns)
    return PolicyData("ridership", daily, units, centre)


def load_pedestrians(
    exchange: Any, product: str = "city-centre-pedestrians-daily"
) -> PolicyData:
    """Daily pedestrians per sensor (Japan time) through the client.

    Reads the open daily aggregate by default; the commercial hourly product
    (``product="city-centre-pedestrians"``) gives the same figures, summed by day here.
    Raises the client's ``PermissionDeniedError`` when the credential has no subscription.
    """
    sensors = exchange.entities(product, type="CrowdFlowObserved").to_geopandas()
    codes = dict(zip(sensors["id"], sensors["sensorId"].astype(str), strict=True))
    history = exchange.history(product, type="CrowdFlowObserved", attr="peopleCount")
    daily = _daily_wide(history, "peopleCount", codes)
    units = gpd.GeoDataFrame(
        {
            "code": sensors["sensorId"].astype(str).to_numpy(),
            "name": sensors["name"].astype(str).to_numpy(),
        },
        geometry=sensors.geometry.to_numpy(),
        crs=sensors.crs or "EPSG:4326",
    ).sort_values("code", ignore_index=True)
    return PolicyData("pedestrian", daily, units, tuple(units["code"]))


# --------------------------------------------------------------------------- events


def event_window(
    event: PolicyEvent, daily: pd.DataFrame
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The occurrence analysed: the one nearest the middle of the data (recurring events)."""
    first, last = daily.index.min(), daily.index.max()
    middle = first + (last - first) / 2
    inside = [
        (pd.Timestamp(s), pd.Timestamp(e) if e else None)
        for s, e in event.periods
        if first < pd.Timestamp(s) <= last
    ]
    if not inside:
        raise ValueError(
            f"event {event.key!r} falls outside the data ({first.date()}–{last.date()})"
        )
    return min(inside, key=lambda p: abs(p[0] - middle))


def _other_periods(
    event: PolicyEvent, chosen: tuple, index: pd.DatetimeIndex
) -> list[tuple[pd.Timestamp, Any]]:
    """Every other event period that overlaps the data (an empty one cannot be estimated)."""
    out = []
    for other in DEFAULT_EVENTS:
        for start, end in other.periods:
            period = (pd.Timestamp(start), pd.Timestamp(end) if end else None)
            if other.key == event.key and period == chosen:
                continue
            if period[0] > index.max() or (period[1] is not None and period[1] < index.min()):
                continue
            out.append(period)
    return out


def true_effects(event: PolicyEvent, units: list[str], kind: str) -> dict[str, float]:
    """The generator's relative effect of ``event`` on each unit."""
    return {u: event.effect_for(u, kind=kind) for u in units}


def affected(event: PolicyEvent, units: list[str], kind: str) -> list[str]:
    return [u for u, effect in true_effects(event, units, kind).items() if effect]


def affected_discs(
    datasets: list[PolicyData], *, radius_m: dict[str, float] | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Stations and sensors as small discs, with whether each event affected them.

    Parameters
    ----------
    datasets
        The loaded series (ridership, pedestrians); their units are drawn in this order.
    radius_m
        Disc radius per kind (default: 150 m for stations, 45 m for the closely spaced
        sensors).

    Returns
    -------
    tuple of GeoDataFrame and DataFrame
        The discs (``code``, ``name``, ``kind``; EPSG:4326) and, indexed like them, one column
        per event key: 1.0 where the event affected the unit, else 0.0 (the map's states).
    """
    radius_m = {"ridership": 150.0, "pedestrian": 45.0, **(radius_m or {})}
    parts, states = [], []
    for data in datasets:
        codes = list(data.units["code"])
        units = data.units.assign(kind=data.kind)
        discs = units.to_crs(6680).buffer(radius_m[data.kind]).to_crs(4326)
        parts.append(units.set_geometry(discs))
        states.append(pd.DataFrame({
            key: units["code"].isin(affected(event, codes, data.kind)).astype(float)
            for key, event in EVENTS.items()
        }))  # fmt: skip
    discs = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    return discs, pd.concat(states, ignore_index=True)


# --------------------------------------------------------------------------- estimates


@dataclass
class EffectView:
    """What the dashboard shows for one event, series and method."""

    estimate: EffectEstimate | None
    truth: float
    series: pd.Series
    counterfactual: pd.Series | None
    control: pd.Series | None
    period: tuple[pd.Timestamp, pd.Timestamp | None]
    note: str = ""


def group_units(data: PolicyData, group: str) -> list[str]:
    return list(data.centre) if group == CENTRE else [group]


@functools.lru_cache(maxsize=256)
def _cached(data_id: int, event_key: str, group: str, method: str) -> EffectView:
    return _estimate(_REGISTRY[data_id], event_key, group, method)


_REGISTRY: dict[int, PolicyData] = {}


def estimate_effect(data: PolicyData, event_key: str, group: str, method: str) -> EffectView:
    """Estimate the relative effect of an event on a unit or the city-centre group (cached)."""
    _REGISTRY[id(data)] = data
    return _cached(id(data), event_key, group, method)


def _estimate(data: PolicyData, event_key: str, group: str, method: str) -> EffectView:
    event = EVENTS[event_key]
    units = group_units(data, group)
    period = event_window(event, data.daily)
    series = data.daily[units].sum(axis=1, min_count=len(units)).dropna()
    truth = _group_truth(data, event, units, period)
    others = _other_periods(event, period, data.daily.index)
    if method == "its":
        fit = interrupted_time_series(
            series, event_date=period[0], event_end=period[1], other_periods=others, log=True
        )
        counterfactual = _its_counterfactual(fit, series)
        return EffectView(fit, truth, series, counterfactual, None, period)
    controls = [
        u
        for u in data.daily.columns
        if u not in affected(event, list(data.daily.columns), data.kind)
    ]
    if not controls:
        unit = "station" if data.kind == "ridership" else "sensor"
        its = _cached(id(data), event_key, group, "its")
        note = (
            "Difference-in-differences needs units the event did not affect; this event "
            f"affected every {unit}, so the interrupted time series is shown instead."
        )
        return EffectView(its.estimate, truth, series, its.counterfactual, None, period, note)
    control = data.daily[controls].sum(axis=1, min_count=len(controls)).dropna()
    fit = interrupted_time_series(
        series, comparison=control, event_date=period[0], event_end=period[1],
        other_periods=others, trend=False, seasonality="none", log=True,
    )  # fmt: skip
    note = f"Control: the total of the {len(controls)} units the event did not affect."
    return EffectView(fit, truth, series, None, control, period, note)


def _group_truth(data: PolicyData, event: PolicyEvent, units: list[str], period: tuple) -> float:
    """The group's true relative effect: unit effects weighted by pre-event volume."""
    effects = true_effects(event, units, data.kind)
    before = data.daily.loc[: period[0] - pd.Timedelta(days=1), units].tail(365).mean()
    weights = before / before.sum()
    return float(sum(weights[u] * effects[u] for u in units))


def _its_counterfactual(fit: EffectEstimate, series: pd.Series) -> pd.Series | None:
    model = fit.model
    try:
        exog = pd.DataFrame(model.model.exog, columns=model.model.exog_names)
        log_fitted = np.asarray(model.fittedvalues) - model.params["effect"] * exog["effect"]
        index = series.dropna().index
        return pd.Series(np.exp(np.asarray(log_fitted)), index=index[: len(log_fitted)])
    except (AttributeError, KeyError, ValueError):
        return None


# --------------------------------------------------------------------------- views


def interval_sentence(low: float, high: float, *, excludes_zero: bool) -> str:
    """The 95% interval in plain words, Japanese first, then English (HTML).

    "CI +0.0% to +7.6%; distinguishable from zero" is statisticians' shorthand; the public
    reads "the effect is estimated to lie between ... and ..." and whether that rules out no
    effect at all.
    """
    lo, hi = f"{low:+.1%}", f"{high:+.1%}"
    if excludes_zero:
        ja, en = (
            "ゼロとは区別できます（効果がなかったとは考えにくい）。",
            "The range leaves out zero: the data show an effect.",
        )
    else:
        ja, en = (
            "ゼロとは区別できません（効果がなかった可能性もあります）。",
            "The range includes zero: the data cannot tell this effect from no effect.",
        )
    return (
        f'<span lang="ja">効果は {lo} から {hi} の範囲と推定されます（95%信頼区間）。{ja}</span>'
        f"<br>The effect is estimated to lie between {lo} and {hi} (95% confidence interval). "
        f"{en}"
    )


def summary_html(view: EffectView, *, what: str, event: PolicyEvent) -> str:
    """The headline: estimate with its 95% interval next to the true (synthetic) effect."""
    truth = f"{view.truth:+.1%}"
    start, end = view.period
    when = f"{start.date()} – {end.date()}" if end is not None else f"from {start.date()}"
    head = f"<b>{event.title}</b> ({when}) on <b>{what}</b>"
    if view.estimate is None:
        return f"{head}<br>{view.note}<br>True effect in the synthetic generator: {truth}."
    e = view.estimate
    covered = "covers" if e.covers(view.truth) else "does not cover"
    return (
        f"{head}<br>推定効果 / Estimated effect: <b>{e.estimate:+.1%}</b><br>"
        f"{interval_sentence(e.ci_low, e.ci_high, excludes_zero=e.excludes_zero)}<br>"
        f"True effect in the synthetic generator: <b>{truth}</b>; the interval {covered} it."
        f"<br><small>{e.method}. {view.note}</small>"
    )


def plot_effect(view: EffectView, *, days: int, title: str, noun: str) -> bytes:
    """Daily series (7-day mean) around the event, with the counterfactual or control; PNG."""
    start, end = view.period
    lo = start - pd.Timedelta(days=days)
    hi = (end or start) + pd.Timedelta(days=days)
    fig, ax = plt.subplots(figsize=(8.2, 3.6), layout="constrained")
    window = view.series.loc[lo:hi]
    ax.plot(window.index, window.to_numpy(), color="#c7d7e6", lw=0.8, label=f"daily {noun}")
    ax.plot(window.index, window.rolling(7, center=True).mean().to_numpy(), color="#0b4f6c",
            lw=1.8, label="7-day mean")  # fmt: skip
    if view.counterfactual is not None:
        cf = view.counterfactual.loc[lo:hi].rolling(7, center=True).mean()
        ax.plot(cf.index, cf.to_numpy(), color="#d95f02", ls="--", lw=1.5,
                label="without the event (model)")  # fmt: skip
    if view.control is not None:
        pre = view.series.loc[: start - pd.Timedelta(days=1)].tail(365).mean()
        ref = view.control.loc[: start - pd.Timedelta(days=1)].tail(365).mean()
        control = (view.control * pre / ref).loc[lo:hi].rolling(7, center=True).mean()
        ax.plot(control.index, control.to_numpy(), color="#7570b3", ls="--", lw=1.5,
                label="control units (scaled to the pre-period)")  # fmt: skip
    ax.axvspan(start, end or hi, color="#fdd49e", alpha=0.35, lw=0, label="event")
    ax.set_xlim(lo, hi)
    ax.set_ylabel(f"{noun} per day")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax.text(0.995, 0.02, "SYNTHETIC data", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=8, color="#7a5a00")  # fmt: skip
    return figure_png(fig)
