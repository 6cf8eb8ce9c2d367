"""Stage–discharge rating curves: a power law per stage segment, Q = a·(h − h0)^c, fitted on
gaugings (simultaneous stage and discharge measurements), used to turn stages into discharges.

Each segment is fitted in log space: for a trial h0 the law is linear in log(h − h0), so h0 is
found by a bounded scalar search and (a, c) by least squares. Without declared breakpoints,
one segment and every two-segment split (at gauged stages, at least `min_points` on each side)
are compared by BIC on the log residuals.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar


class RatingError(ValueError):
    """Gaugings that cannot make a rating curve."""


@dataclass(frozen=True)
class Segment:
    h_low: float  # stage range of validity (the first and last segments extrapolate)
    h_high: float
    a: float
    h0: float  # stage of zero flow
    c: float
    gaugings: int

    def discharge(self, h: np.ndarray) -> np.ndarray:
        return self.a * np.clip(h - self.h0, 0.0, None) ** self.c


@dataclass(frozen=True)
class RatingCurve:
    segments: tuple[Segment, ...]
    rmse_log: float  # RMS of log(Q_fitted / Q_gauged): ~ relative error
    gaugings: int

    def discharge(self, stage: np.ndarray) -> np.ndarray:
        """Discharge (same units as the gaugings) for stages; NaN stays NaN."""
        stage = np.asarray(stage, dtype=np.float64)
        edges = np.array([s.h_high for s in self.segments[:-1]])
        which = np.searchsorted(edges, stage, side="right")
        out = np.full(stage.shape, np.nan)
        for i, segment in enumerate(self.segments):
            mask = (which == i) & np.isfinite(stage)
            out[mask] = segment.discharge(stage[mask])
        return out


def _fit_segment(h: np.ndarray, q: np.ndarray) -> tuple[float, float, float, float]:
    """(a, h0, c, sum of squared log residuals) of one power law."""
    log_q = np.log(q)
    span = max(h.max() - h.min(), 0.1)

    def residual(h0: float) -> float:
        x = np.log(h - h0)
        design = np.column_stack([np.ones_like(x), x])
        coef, *_ = np.linalg.lstsq(design, log_q, rcond=None)
        return float(np.sum((design @ coef - log_q) ** 2))

    best = minimize_scalar(residual, bounds=(h.min() - 5 * span, h.min() - 1e-4), method="bounded")
    h0 = float(best.x)
    x = np.log(h - h0)
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), log_q, rcond=None)
    return float(np.exp(coef[0])), h0, float(coef[1]), residual(h0)


def fit_rating_curve(
    stage: np.ndarray,
    discharge: np.ndarray,
    breakpoints: list[float] | None = None,
    min_points: int = 4,
) -> RatingCurve:
    """Fit the curve on gaugings; `breakpoints` fixes the segments, else BIC chooses 1 or 2."""
    h = np.asarray(stage, dtype=np.float64)
    q = np.asarray(discharge, dtype=np.float64)
    keep = np.isfinite(h) & np.isfinite(q) & (q > 0)
    h, q = h[keep], q[keep]
    order = np.argsort(h)
    h, q = h[order], q[order]
    if len(h) < 3:
        raise RatingError(f"{len(h)} usable gaugings (positive discharge): at least 3 are needed")
    if breakpoints is not None:
        return _fit_segments(h, q, sorted(breakpoints))
    candidates = [_fit_segments(h, q, [])]
    for i in range(min_points, len(h) - min_points + 1):
        if h[i] > h[i - 1]:
            candidates.append(_fit_segments(h, q, [float((h[i] + h[i - 1]) / 2)]))
    n = len(h)

    def bic(curve: RatingCurve) -> float:
        sse = max(curve.rmse_log**2 * n, 1e-12)
        return n * np.log(sse / n) + 3 * len(curve.segments) * np.log(n)

    return min(candidates, key=bic)


def _fit_segments(h: np.ndarray, q: np.ndarray, breakpoints: list[float]) -> RatingCurve:
    edges = [-np.inf, *breakpoints, np.inf]
    segments, sse = [], 0.0
    for low, high in itertools.pairwise(edges):
        mask = (h >= low) & (h < high)
        if mask.sum() < 3:
            raise RatingError(f"segment [{low}, {high}) holds {mask.sum()} gaugings: 3 are needed")
        a, h0, c, error = _fit_segment(h[mask], q[mask])
        segments.append(
            Segment(float(h[mask].min()), float(h[mask].max()), a, h0, c, int(mask.sum()))
        )
        sse += error
    # Segments meet at the breakpoints: the lower one is valid up to there.
    segments = [
        Segment(s.h_low, high if high != np.inf else s.h_high, s.a, s.h0, s.c, s.gaugings)
        for s, high in zip(segments, edges[1:], strict=True)
    ]
    return RatingCurve(tuple(segments), float(np.sqrt(sse / len(h))), len(h))
