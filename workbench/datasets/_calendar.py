"""Calendar helpers for the synthetic generators: holidays and Sapporo's seasons."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Fixed-date Japanese public holidays and the customary breaks (New Year, Golden Week, Obon).
# Moving holidays (Happy Monday, equinoxes) are approximated by their usual dates.
_HOLIDAY_MONTH_DAYS = {
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 8),
    (2, 11),
    (2, 23),
    (3, 20),
    (4, 29),
    (5, 3),
    (5, 4),
    (5, 5),
    (7, 15),
    (8, 11),
    (8, 13),
    (8, 14),
    (8, 15),
    (9, 16),
    (9, 23),
    (10, 14),
    (11, 3),
    (11, 23),
    (12, 29),
    (12, 30),
    (12, 31),
}


def is_holiday(days: pd.DatetimeIndex) -> np.ndarray:
    """Return True for Sundays-like days: Japanese public holidays and the customary breaks."""
    pairs = zip(days.month, days.day, strict=True)
    return np.fromiter(((m, d) in _HOLIDAY_MONTH_DAYS for m, d in pairs), bool, len(days))


def day_type(days: pd.DatetimeIndex) -> np.ndarray:
    """Return ``"weekday"``, ``"saturday"`` or ``"holiday"`` (Sundays and holidays)."""
    out = np.where(days.day_of_week == 5, "saturday", "weekday").astype(object)
    out[(days.day_of_week == 6) | is_holiday(days)] = "holiday"
    return out


def snow_season_weight(days: pd.DatetimeIndex) -> np.ndarray:
    """Return 0 in summer rising to 1 in late January (Sapporo's snow season, Dec–Mar)."""
    doy = days.day_of_year.to_numpy()
    # cosine bump centred on 25 January (day 25), ~0 from May to October
    phase = np.cos(2 * np.pi * (doy - 25) / 365.25)
    return np.clip((phase - 0.2) / 0.8, 0.0, 1.0)
