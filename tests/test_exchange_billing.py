"""Money: bill lines and revenue shares in integer yen, no float drift."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.server.exchange.billing import bill_lines, split_revenue


@pytest.mark.parametrize("commission", ["0", "0.10", "0.1", "0.125", "0.3333", "1", 0.1])
def test_provider_and_platform_shares_always_total_the_gross(commission):
    for gross in [0, 1, 5, 9, 10, 11, 15, 99, 101, 12345, 999_999_999, 2**53 + 1]:
        shares = split_revenue(gross, commission)
        assert shares.provider_yen + shares.platform_yen == gross
        assert 0 <= shares.platform_yen <= gross
        assert isinstance(shares.platform_yen, int) and isinstance(shares.provider_yen, int)


def test_commission_is_rounded_half_up_once():
    assert split_revenue(15, "0.10").platform_yen == 2  # 1.5 -> 2
    assert split_revenue(14, "0.10").platform_yen == 1
    assert split_revenue(5000, "0.10").provider_yen == 4500
    assert split_revenue(10, Decimal("0.10")).commission_rate == Decimal("0.10")


@pytest.mark.parametrize("bad", ["-0.1", "1.5", 2])
def test_commission_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_revenue(100, bad)


def test_metered_bill_charges_calls_outside_the_trial():
    lines = bill_lines(
        calls=2500, trial_calls=500, price_per_1000_calls=1500, monthly_fee=0, fee_waived=False
    )
    assert lines.billable_calls == 2000 and lines.usage_yen == 3000 and lines.amount_yen == 3000
    lines = bill_lines(
        calls=7, trial_calls=0, price_per_1000_calls=1500, monthly_fee=0, fee_waived=False
    )
    assert lines.usage_yen == 11  # 10.5 yen rounds half up


def test_monthly_fee_is_waived_inside_the_trial():
    paid = bill_lines(
        calls=0, trial_calls=0, price_per_1000_calls=0, monthly_fee=5000, fee_waived=False
    )
    free = bill_lines(
        calls=0, trial_calls=0, price_per_1000_calls=0, monthly_fee=5000, fee_waived=True
    )
    assert paid.amount_yen == 5000 and free.amount_yen == 0
