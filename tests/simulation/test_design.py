import datetime as dt

import numpy as np
import pytest
from scipy import stats

from jnft.simulation.design import (
    DesignError,
    annual_maxima,
    fit_annual_maxima,
    return_level,
    still_water_level,
    storm_tide,
    synthetic_hydrograph,
)


def test_annual_maxima_skip_incomplete_years():
    days = np.arange(np.datetime64("2000-01-01"), np.datetime64("2003-07-01"))
    values = np.arange(len(days), dtype=float)
    maxima = annual_maxima(days.astype("datetime64[us]"), values)
    assert maxima["year"].to_list() == [2000, 2001, 2002]  # half of 2003 is not a year


def test_a_gumbel_sample_gives_back_its_return_levels():
    law = stats.gumbel_r(loc=100.0, scale=30.0)
    maxima = law.rvs(size=60, random_state=np.random.default_rng(4))
    q100 = return_level(maxima, 100, law="gumbel", samples=100)
    truth = law.ppf(0.99)
    assert q100.low < truth < q100.high
    assert q100.value == pytest.approx(truth, rel=0.15)
    gev = return_level(maxima, 100, law="gev", samples=100)
    assert gev.low < gev.value < gev.high
    assert fit_annual_maxima(maxima, "gev").return_level(1000) > gev.value


def test_short_series_are_refused():
    with pytest.raises(DesignError, match="at least 10 years"):
        fit_annual_maxima(np.arange(5.0))


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
