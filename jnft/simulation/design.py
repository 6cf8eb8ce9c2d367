"""Design events: how big is the 100-year flood, and what does it look like in time.

- Flood frequency analysis: annual maxima of a discharge series, fitted by a GEV or a Gumbel
  law (maximum likelihood; scipy's parameters), with the return level of a return period and
  its confidence interval by parametric bootstrap.
- A synthetic hydrograph for that peak (gamma-shaped rise and recession on a base flow).
- Coastal still-water levels: tide + surge + sea-level rise, on the terrain's datum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import optimize, stats

from jnft.simulation.inertial import Hydrograph

Law = Literal["gev", "gumbel"]


class DesignError(ValueError):
    """A series that cannot support the asked frequency analysis."""


def annual_maxima(times: np.ndarray, values: np.ndarray, min_coverage: float = 0.8) -> pl.DataFrame:
    """Maximum of each hydrological year with enough data (`min_coverage` of its days, for
    daily series): an incomplete year would bias the maxima low."""
    frame = pl.DataFrame({"time": times, "value": values}).drop_nulls().drop_nans()
    by_year = frame.group_by(pl.col("time").dt.year().alias("year")).agg(
        pl.col("value").max().alias("maximum"),
        pl.col("time").dt.date().n_unique().alias("days"),
    )
    return by_year.filter(pl.col("days") >= 365 * min_coverage).sort("year")


@dataclass(frozen=True)
class FrequencyFit:
    law: Law
    parameters: tuple[float, ...]  # scipy's (shape, loc, scale) or (loc, scale)
    years: int

    def _dist(self, parameters=None):
        p = parameters or self.parameters
        return stats.genextreme(*p) if self.law == "gev" else stats.gumbel_r(*p)

    def return_level(self, period: float) -> float:
        """The value exceeded on average once every `period` years."""
        return float(self._dist().ppf(1 - 1 / period))


def fit_annual_maxima(maxima: np.ndarray, law: Law = "gev") -> FrequencyFit:
    maxima = np.asarray(maxima, dtype=np.float64)
    if len(maxima) < 10:
        raise DesignError(f"{len(maxima)} annual maxima: at least 10 years are needed")
    loc, scale = stats.gumbel_r.fit(maxima)
    parameters = (loc, scale)
    if law == "gev":
        # Nelder–Mead on the likelihood from the Gumbel fit (shape 0: the GEV likelihood is
        # flat in the shape for short series), as scipy's `genextreme.fit` does, but on a
        # vectorized likelihood: the bootstrap refits hundreds of samples.
        best = optimize.minimize(
            _gev_negative_log_likelihood, (0.0, loc, scale), args=(maxima,),
            method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-4},
        )  # fmt: skip
        parameters = tuple(best.x)
    return FrequencyFit(law, tuple(float(p) for p in parameters), len(maxima))


def _gev_negative_log_likelihood(parameters: np.ndarray, x: np.ndarray) -> float:
    """−log L of a GEV in scipy's convention (shape c = −ξ, loc, scale); +inf outside the
    support."""
    c, loc, scale = parameters
    if scale <= 0:
        return np.inf
    y = (x - loc) / scale
    if abs(c) < 1e-12:
        return float(np.sum(y + np.exp(-y)) + x.size * np.log(scale))
    t = 1.0 - c * y
    if (t <= 0).any():
        return np.inf
    log_t = np.log(t)
    return float(np.sum(np.exp(log_t / c) - (1.0 / c - 1.0) * log_t) + x.size * np.log(scale))


@dataclass(frozen=True)
class ReturnLevel:
    period: float
    value: float
    low: float  # confidence interval
    high: float
    confidence: float
    fit: FrequencyFit


def return_level(
    maxima: np.ndarray,
    period: float,
    law: Law = "gev",
    confidence: float = 0.9,
    samples: int = 200,
    seed: int = 0,
) -> ReturnLevel:
    """The `period`-year level and its interval by parametric bootstrap: samples drawn from
    the fitted law, refitted, their return levels' quantiles."""
    fit = fit_annual_maxima(maxima, law)
    rng = np.random.default_rng(seed)
    draws = fit._dist().rvs(size=(samples, fit.years), random_state=rng)
    levels = np.array([fit_annual_maxima(d, law).return_level(period) for d in draws])
    tail = (1 - confidence) / 2
    low, high = np.quantile(levels, [tail, 1 - tail])
    return ReturnLevel(period, fit.return_level(period), float(low), float(high), confidence, fit)


def synthetic_hydrograph(
    peak: float,
    base: float,
    time_to_peak: float,
    duration: float,
    shape: float = 4.0,
    step: float = 600.0,
) -> Hydrograph:
    """Q(t) = base + (peak − base)·[(t/tp)·exp(1 − t/tp)]^shape: a rise to the peak at
    `time_to_peak` seconds and a longer recession (a gamma-shaped unit response)."""
    t = np.arange(0.0, duration + step, step)
    ratio = t / time_to_peak
    q = base + (peak - base) * (ratio * np.exp(1 - ratio)) ** shape
    return Hydrograph(tuple(t.tolist()), tuple(q.tolist()))


def still_water_level(tide: float, surge: float, sea_level_rise: float) -> float:
    """A coastal scenario's level: high tide + storm surge + sea-level rise (same datum)."""
    return float(tide + surge + sea_level_rise)


def storm_tide(peak_level: float, duration: float, step: float = 600.0,
               period: float = 44_712.0) -> Hydrograph:  # fmt: skip
    """A sea level peaking at `peak_level` at mid-duration, with the semi-diurnal tide's rise
    and fall (M2, 12 h 25 min) around it, 1.5 m of tidal half-range."""
    t = np.arange(0.0, duration + step, step)
    level = peak_level - 1.5 * (1 - np.cos(2 * np.pi * (t - duration / 2) / period))
    return Hydrograph(tuple(t.tolist()), tuple(level.tolist()))
