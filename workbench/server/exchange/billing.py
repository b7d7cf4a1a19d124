"""Money: what a month of usage costs under a plan, and how revenue is shared.

All amounts are integer yen; rates are :class:`~decimal.Decimal`. Rounding is half-up to the
yen, once, at the end; the provider's share is the remainder, so the provider and platform
shares always add up to exactly the gross (see docs/adr/0015-integer-yen-and-remainder-share.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class BillLines:
    """The amounts of one monthly bill, in yen."""

    billable_calls: int
    usage_yen: int
    fee_yen: int

    @property
    def amount_yen(self) -> int:
        return self.usage_yen + self.fee_yen


@dataclass(frozen=True)
class Shares:
    """A settlement split: ``provider_yen + platform_yen == gross_yen`` always."""

    gross_yen: int
    commission_rate: Decimal
    platform_yen: int
    provider_yen: int


def _yen(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def bill_lines(
    *,
    calls: int,
    trial_calls: int,
    price_per_1000_calls: int,
    monthly_fee: int,
    fee_waived: bool,
) -> BillLines:
    """Return the lines of a monthly bill.

    Parameters
    ----------
    calls
        Metered calls in the month.
    trial_calls
        Of those, calls made during the free trial (not charged).
    price_per_1000_calls
        Yen per 1,000 calls (metered plans; 0 otherwise).
    monthly_fee
        Yen per month (subscription plans; 0 otherwise).
    fee_waived
        Whether the month's fee falls inside the trial.
    """
    billable = max(calls - trial_calls, 0)
    usage_yen = _yen(Decimal(billable) * Decimal(price_per_1000_calls) / Decimal(1000))
    return BillLines(billable, usage_yen, 0 if fee_waived else int(monthly_fee))


def split_revenue(gross_yen: int, commission_rate: Decimal | str | float) -> Shares:
    """Split ``gross_yen`` between the platform (commission) and the provider (remainder).

    Raises
    ------
    ValueError
        If the commission rate is not between 0 and 1.
    """
    rate = Decimal(str(commission_rate))
    if not Decimal(0) <= rate <= Decimal(1):
        raise ValueError(f"commission rate must be between 0 and 1, got {commission_rate!r}")
    platform = _yen(Decimal(gross_yen) * rate)
    return Shares(gross_yen, rate, platform, gross_yen - platform)
