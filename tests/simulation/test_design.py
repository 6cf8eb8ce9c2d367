import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from jnft.simulation.design import (
    DesignError,
    GaugeSeries,
    Sampling,
    analyse,
    annual_maxima,
    fit_annual_maxima,
    fit_peaks,
    return_levels,
    still_water_level,
    storm_tide,
    synthetic_hydrograph,
)


def test_annual_maxima_skip_incomplete_years():
    days = np.arange(np.datetime64("2000-01-01"), np.datetime64("2003-07-01"))
    values = np.arange(len(days), dtype=float)
    maxima = annual_maxima(days.astype("datetime64[us]"), values)
    assert maxima["year"].to_list() == [2000, 2001, 2002]  # half of 2003 is not a year
    hydrological = annual_maxima(days.astype("datetime64[us]"), values, start_month=9)
    # Years from September: 1999-2000 has 244 days of data, 2002-2003 has 303 (enough)
    assert hydrological["year"].to_list() == [2000, 2001, 2002]
    assert hydrological["maximum"][0] == values[days == np.datetime64("2001-08-31")][0]


def test_a_gumbel_sample_gives_back_its_return_levels():
    law = stats.gumbel_r(loc=100.0, scale=30.0)
    maxima = law.rvs(size=60, random_state=np.random.default_rng(4))
    (q100,) = return_levels(fit_annual_maxima(maxima, "gumbel"), [100], samples=100)
    truth = law.ppf(0.99)
    assert q100.low < truth < q100.high
    assert q100.value == pytest.approx(truth, rel=0.15)
    (gev,) = return_levels(fit_annual_maxima(maxima, "gev"), [100], samples=100)
    assert gev.low < gev.value < gev.high
    assert fit_annual_maxima(maxima, "gev").return_level(1000) > gev.value


def test_short_series_are_refused():
    with pytest.raises(DesignError, match="at least 10 years"):
        fit_annual_maxima(np.arange(5.0))


def test_a_record_of_annual_maxima_is_fitted_whatever_the_days_per_year():
    # 200 annual maxima, one row a year: a continuous series would keep no year of them.
    years = np.arange(1820, 2020)
    times = np.array([f"{y}-10-15" for y in years], dtype="datetime64[us]")
    law = stats.gumbel_r(loc=800.0, scale=250.0)
    maxima = law.rvs(size=years.size, random_state=np.random.default_rng(7))
    with pytest.raises(DesignError, match="0 annual maxima"):
        analyse(GaugeSeries(times, maxima))
    record = analyse(GaugeSeries(times, maxima, Sampling("annual_maxima", year_start_month=9)))
    assert (record.fit.law, record.fit.events, record.first_year, record.last_year) == (
        "gev", 200, 1820, 2019,  # October peaks open the hydrological year starting in September
    )  # fmt: skip
    (q100,) = return_levels(record.fit, [100], samples=100)
    assert q100.low < law.ppf(0.99) < q100.high


def test_the_gpd_fit_is_the_maximum_likelihood_one():
    rng = np.random.default_rng(3)
    peaks = 2.0 + stats.genpareto(c=0.15, scale=0.5).rvs(size=400, random_state=rng)
    fit = fit_peaks(peaks, 2.0, 40.0)
    shape, _, scale = stats.genpareto.fit(peaks - 2.0, floc=0)
    assert fit.parameters == pytest.approx((shape, 2.0, scale), abs=1e-3)
    likelihood = stats.genpareto(*fit.parameters).logpdf(peaks).sum()
    assert likelihood >= stats.genpareto(shape, 2.0, scale).logpdf(peaks).sum() - 1e-6
    assert fit.rate == 10.0
    xi, u, sigma = fit.parameters  # x_T = u + σ/ξ·((λT)^ξ − 1), λT = 10 × 100
    assert fit.return_level(100) == pytest.approx(u + sigma / xi * (1000**xi - 1))
    with pytest.raises(DesignError, match="below the threshold"):
        fit.return_level(0.05)
    with pytest.raises(DesignError, match="use gev or gumbel"):
        fit_annual_maxima(peaks, "gpd")


def renext_brest(shared_data):
    frame = pl.read_csv(shared_data / "timeseries" / "Renext__Brest.csv", separator=";")
    return frame["surge"].to_numpy()  # cm, every declustered surge above 30 cm, 1846–2008


# Renext's own fit of these surges (`summary(Renouv(Brest))`, Renext 3.1 reference manual,
# summary.Renouv example: exponential excesses over 30 cm, effective duration 147.62 years):
# λ = 8.7318791 events/year, rate = 0.0850335 /cm, return levels (cm) with 95 % limits
# 100 years: 110 [105, 114], 1000 years: 137 [131, 143].
RENEXT_BREST = {100: (110, 105, 114), 1000: (137, 131, 143)}


def test_peaks_over_threshold_match_renext_on_the_brest_surges(shared_data):
    surges = renext_brest(shared_data)
    fit = fit_peaks(surges, 30.0, 147.62, "exponential")
    assert fit.rate == pytest.approx(8.7318791, rel=1e-6)
    assert 1 / fit.parameters[1] == pytest.approx(0.0850335, rel=1e-5)
    levels = return_levels(fit, [100, 1000], confidence=0.95)
    for level in levels:
        value, low, high = RENEXT_BREST[int(level.period)]
        assert level.value == pytest.approx(value, abs=0.5)  # Renext prints whole cm
        assert level.low == pytest.approx(low, abs=1.5)  # its limits are exact (chi-square),
        assert level.high == pytest.approx(high, abs=1.5)  # ours by bootstrap
    gpd = fit_peaks(surges, 30.0, 147.62)  # a light tail: ξ < 0, below the exponential
    assert -0.1 < gpd.parameters[0] < 0
    assert 95 < gpd.return_level(100) < levels[0].value


def test_design_hydrograph_and_coastal_level():
    h = synthetic_hydrograph(peak=120.0, base=10.0, time_to_peak=6 * 3600, duration=48 * 3600)
    values = np.array(h.values)
    assert values.max() == pytest.approx(120.0, rel=1e-3)
    assert h.times[int(values.argmax())] == pytest.approx(6 * 3600, abs=600)
    assert values[0] == pytest.approx(10.0) and values[-1] < 20
    level = still_water_level(tide=3.1, surge=1.2, sea_level_rise=0.6)
    sea = storm_tide(level, 24 * 3600)
    assert max(sea.values) == pytest.approx(4.9) and min(sea.values) < 2.0
    assert dt.timedelta(seconds=sea.times[int(np.argmax(sea.values))]) == dt.timedelta(hours=12)
