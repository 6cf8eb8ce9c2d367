import numpy as np
import pytest

from jnft.ingest.rating import RatingError, fit_rating_curve


def test_a_power_law_is_recovered_from_noisy_gaugings():
    h = np.random.default_rng(2).uniform(0.45, 3.5, 40)
    q = 18 * (h - 0.3) ** 1.6 * np.exp(np.random.default_rng(3).normal(0, 0.03, 40))
    curve = fit_rating_curve(h, q)
    (segment,) = curve.segments
    assert segment.a == pytest.approx(18, rel=0.08)
    assert segment.h0 == pytest.approx(0.3, abs=0.05)
    assert segment.c == pytest.approx(1.6, abs=0.08)
    assert curve.rmse_log < 0.05


def test_a_change_of_control_gives_two_segments():
    """A section control at low flow, the channel above 1.5 m: BIC prefers two laws."""
    h = np.linspace(0.3, 3.0, 40)
    low = 30 * (h - 0.2) ** 2.5
    high = 30 * 1.3**2.5 * ((h - 0.2) / 1.3) ** 1.4
    q = np.where(h < 1.5, low, high)
    curve = fit_rating_curve(h, q)
    assert len(curve.segments) == 2
    assert curve.segments[0].h_high == pytest.approx(1.5, abs=0.1)
    assert np.allclose(curve.discharge(h), q, rtol=0.03)


def test_declared_breakpoints_are_kept_and_stages_below_zero_flow_give_nothing():
    h = np.linspace(0.5, 3, 20)
    curve = fit_rating_curve(h, 10 * (h - 0.2) ** 1.7, breakpoints=[1.5])
    assert curve.segments[0].h_high == 1.5
    assert curve.discharge(np.array([-1.0, np.nan])).tolist()[0] == 0.0
    assert np.isnan(curve.discharge(np.array([np.nan]))[0])


def test_too_few_gaugings_is_an_error():
    with pytest.raises(RatingError, match="2 usable gaugings"):
        fit_rating_curve(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 0.0]))
