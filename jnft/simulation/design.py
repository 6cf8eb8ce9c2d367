"""Design events: how big is the 100-year flood, and what does it look like in time.

- Frequency analysis of a series by how it was sampled: the annual maxima of a continuous
  series or of a file of annual maxima, fitted by a GEV or a Gumbel law; peaks over a
  threshold, fitted by a generalized Pareto (or exponential) law of the excesses with a Poisson
  rate of events (maximum likelihood; scipy's parameters). The return level of a return period
  and its confidence interval by parametric bootstrap.
- A synthetic hydrograph for that peak (gamma-shaped rise and recession on a base flow).
- Coastal still-water levels: tide + surge + sea-level rise, on the terrain's datum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import optimize, stats

from jnft.simulation.inertial import Hydrograph

Law = Literal["gev", "gumbel", "gpd", "exponential"]
SamplingKind = Literal["continuous", "annual_maxima", "peaks_over_threshold"]
BLOCK_LAWS: tuple[Law, ...] = ("gev", "gumbel")
PEAK_LAWS: tuple[Law, ...] = ("gpd", "exponential")
MIN_EVENTS = 10  # fewer maxima or peaks cannot support a fit of two or three parameters


class DesignError(ValueError):
    """A series that cannot support the asked frequency analysis."""


@dataclass(frozen=True)
class Sampling:
    """How a series was sampled, as its fiche declares: every observation (`continuous`), one
    maximum per hydrological year (`annual_maxima`), or every independent peak above
    `threshold` (SI units) over a record of `years` (`peaks_over_threshold`)."""

    kind: SamplingKind = "continuous"
    year_start_month: int = 1  # the hydrological year's first month
    threshold: float | None = None
    years: float | None = None

    @property
    def default_law(self) -> Law:
        return "gpd" if self.kind == "peaks_over_threshold" else "gev"


CONTINUOUS = Sampling()


class GaugeSeries(tuple[np.ndarray, np.ndarray]):
    """(times, values) of a station's variable, carrying how the series was sampled: it
    unpacks and indexes as the pair it is."""

    sampling: Sampling

    def __new__(
        cls, times: np.ndarray, values: np.ndarray, sampling: Sampling = CONTINUOUS
    ) -> GaugeSeries:
        pair = super().__new__(cls, (times, values))
        pair.sampling = sampling
        return pair

    def __getnewargs__(self) -> tuple:  # pickled with its sampling
        return (self[0], self[1], self.sampling)


def _hydrological_year(start_month: int) -> pl.Expr:
    # A year starting in September: 1995-10-03 belongs to hydrological year 1995 (1995-96).
    return pl.col("time").dt.offset_by(f"-{start_month - 1}mo").dt.year().alias("year")


def annual_maxima(
    times: np.ndarray, values: np.ndarray, min_coverage: float = 0.8, start_month: int = 1
) -> pl.DataFrame:
    """Maximum of each hydrological year with enough data (`min_coverage` of its days, for
    daily series): an incomplete year would bias the maxima low."""
    frame = pl.DataFrame({"time": times, "value": values}).drop_nulls().drop_nans()
    by_year = frame.group_by(_hydrological_year(start_month)).agg(
        pl.col("value").max().alias("maximum"),
        pl.col("time").dt.date().n_unique().alias("days"),
    )
    return by_year.filter(pl.col("days") >= 365 * min_coverage).sort("year")


def block_maxima(times: np.ndarray, values: np.ndarray, start_month: int = 1) -> pl.DataFrame:
    """The maxima of a record of annual maxima, one per hydrological year (the larger when a
    year holds two): each row is a year's maximum, however few rows a year has."""
    frame = pl.DataFrame({"time": times, "value": values}).drop_nulls().drop_nans()
    return (
        frame.group_by(_hydrological_year(start_month))
        .agg(pl.col("value").max().alias("maximum"))
        .sort("year")
    )


@dataclass(frozen=True)
class FrequencyFit:
    law: Law
    # scipy's: genextreme (c = −ξ, loc, scale), gumbel_r (loc, scale), genpareto (c = ξ, loc =
    # threshold, scale), expon (loc = threshold, scale)
    parameters: tuple[float, ...]
    events: int  # annual maxima or peaks fitted
    years: float  # years of record: one per maximum, or the declared record of the peaks
    rate: float | None = None  # peaks per year (peaks over threshold)

    @property
    def threshold(self) -> float:
        """The threshold of a fit of peaks (scipy's `loc`, before the scale)."""
        return self.parameters[-2]

    def _dist(self):  # a scipy frozen law
        laws = {
            "gev": stats.genextreme,
            "gumbel": stats.gumbel_r,
            "gpd": stats.genpareto,
            "exponential": stats.expon,
        }
        return laws[self.law](*self.parameters)

    def return_level(self, period: float) -> float:
        """The value exceeded on average once every `period` years: for peaks, the excess
        quantile of probability 1 − 1/(λT), x_T = u + σ/ξ·((λT)^ξ − 1) (u + σ·ln λT as ξ → 0)."""
        if self.rate is None:
            return float(self._dist().ppf(1 - 1 / period))
        if self.rate * period <= 1:
            raise DesignError(
                f"a {period}-year level is below the threshold: {self.rate:.3g} peaks a year"
            )
        return float(self._dist().ppf(1 - 1 / (self.rate * period)))

    def named_parameters(self) -> dict[str, float]:
        """The fit in the usual notation (ξ > 0: a heavy upper tail, for both GEV and GPD)."""
        p = self.parameters
        named = {
            "gev": lambda: {"xi": -p[0], "mu": p[1], "sigma": p[2]},
            "gumbel": lambda: {"mu": p[0], "sigma": p[1]},
            "gpd": lambda: {"xi": p[0], "threshold": p[1], "sigma": p[2]},
            "exponential": lambda: {"threshold": p[0], "sigma": p[1]},
        }[self.law]()
        if self.rate is not None:
            named["rate_per_year"] = self.rate
        return {k: round(float(v), 6) for k, v in named.items()}


def fit_annual_maxima(maxima: np.ndarray, law: Law = "gev") -> FrequencyFit:
    maxima = np.asarray(maxima, dtype=np.float64)
    if law not in BLOCK_LAWS:
        raise DesignError(f"law {law!r} does not fit annual maxima: use gev or gumbel")
    if len(maxima) < MIN_EVENTS:
        raise DesignError(f"{len(maxima)} annual maxima: at least {MIN_EVENTS} years are needed")
    loc, scale = stats.gumbel_r.fit(maxima)
    parameters: tuple[float, ...] = (loc, scale)
    if law == "gev":
        # Nelder–Mead on the likelihood from the Gumbel fit (shape 0: the GEV likelihood is
        # flat in the shape for short series), as scipy's `genextreme.fit` does, but on a
        # vectorized likelihood: the bootstrap refits hundreds of samples.
        best = optimize.minimize(
            _gev_negative_log_likelihood, (0.0, loc, scale), args=(maxima,),
            method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-4},
        )  # fmt: skip
        parameters = tuple(best.x)
    return FrequencyFit(law, tuple(float(p) for p in parameters), len(maxima), len(maxima))


def fit_peaks(peaks: np.ndarray, threshold: float, years: float, law: Law = "gpd") -> FrequencyFit:
    """The excesses of the peaks above `threshold` by maximum likelihood (GPD: Nelder–Mead
    from the exponential fit; exponential: their mean), events a Poisson process of rate
    λ = peaks / years."""
    peaks = np.asarray(peaks, dtype=np.float64)
    if law not in PEAK_LAWS:
        raise DesignError(
            f"law {law!r} does not fit peaks over a threshold: use gpd or exponential"
        )
    excesses = peaks[peaks > threshold] - threshold
    if excesses.size < MIN_EVENTS:
        raise DesignError(
            f"{excesses.size} peaks above the threshold {threshold:g}: "
            f"at least {MIN_EVENTS} are needed"
        )
    rate = excesses.size / years
    scale = float(excesses.mean())
    if law == "exponential":
        return FrequencyFit(law, (threshold, scale), excesses.size, years, rate)
    best = optimize.minimize(
        _gpd_negative_log_likelihood, (0.0, scale), args=(excesses,),
        method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6},
    )  # fmt: skip
    shape, scale = (float(v) for v in best.x)
    return FrequencyFit(law, (shape, threshold, scale), excesses.size, years, rate)


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


def _gpd_negative_log_likelihood(parameters: np.ndarray, y: np.ndarray) -> float:
    """−log L of excesses y under a GPD (shape ξ, scale σ); +inf outside the support."""
    xi, scale = parameters
    if scale <= 0:
        return np.inf
    if abs(xi) < 1e-9:
        return float(y.size * np.log(scale) + y.sum() / scale)
    t = 1.0 + xi * y / scale
    if (t <= 0).any():
        return np.inf
    return float(y.size * np.log(scale) + (1.0 + 1.0 / xi) * np.log(t).sum())


@dataclass(frozen=True)
class ReturnLevel:
    period: float
    value: float
    low: float  # confidence interval
    high: float
    confidence: float
    fit: FrequencyFit


@dataclass(frozen=True)
class Analysis:
    """A series' frequency analysis: the fit and what it was fitted on."""

    fit: FrequencyFit
    sampling: Sampling
    first_year: int
    last_year: int


def analyse(series: GaugeSeries, law: Law | None = None) -> Analysis:
    """The fit its sampling calls for: annual maxima of a continuous series or of a record of
    maxima (GEV by default), or peaks over the declared threshold (GPD by default)."""
    times, values = series
    sampling = series.sampling
    law = law or sampling.default_law
    if sampling.kind == "peaks_over_threshold":
        assert sampling.threshold is not None and sampling.years is not None  # the fiche's
        years = pl.Series(times).dt.year().to_numpy()
        fit = fit_peaks(values, sampling.threshold, sampling.years, law)
        return Analysis(fit, sampling, int(years.min()), int(years.max()))
    if sampling.kind == "annual_maxima":
        maxima = block_maxima(times, values, sampling.year_start_month)
    else:
        maxima = annual_maxima(times, values, start_month=sampling.year_start_month)
    if maxima.is_empty():
        raise DesignError("0 annual maxima: no year of the series is complete enough")
    fit = fit_annual_maxima(maxima["maximum"].to_numpy(), law)
    years = maxima["year"].to_numpy()
    return Analysis(fit, sampling, int(years.min()), int(years.max()))


def _refit(fit: FrequencyFit, rng: np.random.Generator) -> FrequencyFit:
    """A fit of a sample drawn from `fit`: as many maxima, or a Poisson number of peaks."""
    if fit.rate is None:
        return fit_annual_maxima(fit._dist().rvs(size=fit.events, random_state=rng), fit.law)
    # A sample too small to refit is drawn at the smallest size that can be (rare: a fit
    # needs MIN_EVENTS peaks, and λ·years of them are expected).
    count = max(int(rng.poisson(fit.rate * fit.years)), MIN_EVENTS)
    peaks = fit._dist().rvs(size=count, random_state=rng)
    return fit_peaks(peaks, fit.threshold, fit.years, fit.law)


def return_levels(
    fit: FrequencyFit,
    periods: Sequence[float],
    confidence: float = 0.9,
    samples: int = 200,
    seed: int = 0,
) -> list[ReturnLevel]:
    """The levels of `periods` and their intervals by parametric bootstrap: samples drawn
    from the fitted law (and the Poisson count of peaks), refitted, their levels' quantiles."""
    rng = np.random.default_rng(seed)
    refits = [_refit(fit, rng) for _ in range(samples)]
    tail = (1 - confidence) / 2
    levels = []
    for period in periods:
        drawn = np.array([r.return_level(period) for r in refits])
        low, high = np.quantile(drawn, [tail, 1 - tail])
        value = fit.return_level(period)
        levels.append(ReturnLevel(period, value, float(low), float(high), confidence, fit))
    return levels


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
