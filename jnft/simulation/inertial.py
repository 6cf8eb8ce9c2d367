"""2D local-inertial flood model (Bates et al. 2010; de Almeida et al. 2012), the scheme of
LISFLOOD-FP's ACC solver, in Numba.

Discharges per unit width live on the cell faces of a regular grid (staggered): `qx[r, c]`
between cells (r, c−1) and (r, c), positive eastwards; `qy[r, c]` between (r−1, c) and
(r, c), positive southwards (down the rows). A face flows when its flow depth
`h_f = max(η_i, η_j) − max(z_i, z_j)` exceeds `h_min` (1 mm); its new discharge is

    q = [θ·q + (1−θ)/2·(q_prev + q_next) − g·h_f·Δt·∂η/∂x] / [1 + g·Δt·n²·|q| / h_f^(7/3)]

with |q| the 2D discharge (the orthogonal discharges averaged onto the face). Depths follow
from continuity. A face never takes more than a quarter of its upstream cell's water in one
step (a cell has four faces), so depths stay non-negative and volume is conserved to
round-off; the cap bites only in films thinner than the flow carries through in a step. The
time step adapts, Δt = α·Δx / √(g·h_max). Only the active region (the box of wet cells,
grown by one cell per step where its edge is wet) is computed. Each step is two passes over
the grid (faces, then cells with the maxima tracked), the memory traffic of the scheme.

Boundary conditions: sides closed or free outflow (normal depth on a given slope); cells held
at a fixed or time-varying water level (sea, river downstream level); inflow hydrographs on a
line or a point of cells; rainfall; Manning's n uniform or per cell.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import prange

G = 9.81
SIDES = ("north", "south", "west", "east")


@dataclass(frozen=True)
class Hydrograph:
    """A value varying in time, linearly interpolated (held before and after)."""

    times: tuple[float, ...]  # s
    values: tuple[float, ...]

    @classmethod
    def constant(cls, value: float) -> Hydrograph:
        return cls((0.0,), (float(value),))

    def at(self, t: float) -> float:
        return float(np.interp(t, self.times, self.values))


@dataclass(frozen=True)
class Inflow:
    """A discharge (m³/s) entering through cells (a boundary line, or one cell)."""

    cells: tuple[tuple[int, int], ...]
    discharge: Hydrograph


@dataclass(frozen=True)
class HeldLevel:
    """Cells held at a water level (m, same datum as z): the sea, a downstream river level."""

    mask: np.ndarray  # bool, grid shape
    level: Hydrograph


@dataclass(frozen=True)
class FreeOutflow:
    """Water leaves through a side at normal depth on a slope: q = h^(5/3)·√S / n."""

    slope: float


@dataclass
class Setup:
    z: np.ndarray  # bed elevation (m)
    dx: float  # cell size (m)
    manning: float | np.ndarray = 0.03
    depth: np.ndarray | None = None  # initial depth (m), dry by default
    sides: dict[str, FreeOutflow | None] = field(default_factory=dict)  # absent: closed
    inflows: list[Inflow] = field(default_factory=list)
    held: list[HeldLevel] = field(default_factory=list)
    rain: Hydrograph | None = None  # m/s over every cell
    theta: float = 0.8
    alpha: float = 0.7
    h_min: float = 1e-3  # flow depth below which a face is dry
    wet_depth: float = 0.01  # depth that counts as wet for arrival time and velocity
    max_step: float = 10.0  # s: cap on Δt (hydrograph and output resolution)


@dataclass(frozen=True)
class VolumeBalance:
    initial: float
    inflow: float  # hydrographs and rain
    held: float  # net volume given by held-level cells (negative: they absorbed water)
    outflow: float  # through free sides
    final: float

    @property
    def error(self) -> float:
        """Relative error: (final − expected) / the volume that went through."""
        expected = self.initial + self.inflow + self.held - self.outflow
        scale = max(self.initial + self.inflow + abs(self.held), 1e-12)
        return (self.final - expected) / scale


@dataclass
class Result:
    depth: np.ndarray  # at the end
    max_depth: np.ndarray
    max_speed: np.ndarray  # m/s, where deeper than wet_depth
    arrival: np.ndarray  # s of first wetting, NaN if never
    volume: VolumeBalance
    steps: int
    cell_updates: int  # cells computed, summed over steps
    seconds: float  # wall time
    probes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def _prepare(setup: Setup) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.ascontiguousarray(setup.z, dtype=np.float64)
    h = (
        np.zeros_like(z)
        if setup.depth is None
        else np.ascontiguousarray(setup.depth, dtype=np.float64)
    )
    n = np.broadcast_to(np.asarray(setup.manning, dtype=np.float64), z.shape)
    if not np.isfinite(z).all():
        raise ValueError("the DEM has no-data cells: fill or mask them (as high ground) first")
    unknown = set(setup.sides) - set(SIDES)
    if unknown:
        raise ValueError(f"unknown sides {sorted(unknown)}; use {SIDES}")
    return z, h, np.ascontiguousarray(n)


def simulate(
    setup: Setup,
    duration: float,
    *,
    probes: dict[str, tuple[int, int]] | None = None,
    probe_every: float = 60.0,
) -> Result:
    """Run the model for `duration` seconds; `probes` record depths at cells every
    `probe_every` seconds."""
    started = time.perf_counter()
    z, h, manning = _prepare(setup)
    n2 = manning**2
    uniform = bool((n2 == n2.flat[0]).all())
    rows, cols = z.shape
    dx = float(setup.dx)
    qx = np.zeros((rows, cols + 1))
    qy = np.zeros((rows + 1, cols))
    qx_new, qy_new = np.zeros_like(qx), np.zeros_like(qy)
    # h_f^(−1/3) of each face at its last step (0: dry)
    roots_x, roots_y = np.zeros_like(qx), np.zeros_like(qy)
    max_depth = h.astype(np.float32)
    max_speed = np.zeros(z.shape, dtype=np.float32)
    arrival = np.where(h > setup.wet_depth, 0.0, np.nan).astype(np.float32)
    free = np.array([s in setup.sides and setup.sides[s] is not None for s in SIDES])
    slopes = np.array([setup.sides[s].slope if free[i] else 0.0 for i, s in enumerate(SIDES)])
    held = [(np.nonzero(hl.mask), hl.level) for hl in setup.held]
    sources = [
        (np.array(i.cells, dtype=np.int64).reshape(-1, 2), i.discharge) for i in setup.inflows
    ]
    for cells, _ in sources:
        if ((cells < 0) | (cells >= (rows, cols))).any():
            raise ValueError("an inflow cell lies outside the grid")
    initial = float(h.sum() * dx * dx)
    inflow_volume = held_volume = outflow_volume = 0.0
    box = (
        (0, rows, 0, cols)
        if setup.rain is not None
        else _wet_box(
            h, [np.asarray(hl.mask, dtype=bool) for hl in setup.held], sources, rows, cols
        )
    )
    edges = np.zeros(4, dtype=np.bool_)
    row_max = np.zeros(rows)
    h_max = float(h.max()) if h.size else 0.0
    t, steps, updates = 0.0, 0, 0
    recorded = {name: [] for name in probes or {}}
    next_probe = 0.0
    while t < duration - 1e-9:
        if probes and t >= next_probe - 1e-9:
            for name, (r, c) in probes.items():
                recorded[name].append((t, float(h[r, c])))
            next_probe += probe_every
        dt = setup.max_step if h_max <= setup.h_min else setup.alpha * dx / math.sqrt(G * h_max)
        dt = min(dt, setup.max_step, duration - t)
        if probes:
            dt = min(dt, max(next_probe - t, 1e-6))
        r0, r1, c0, c1 = box
        _fluxes(z, h, n2, uniform, qx, qy, qx_new, qy_new, roots_x, roots_y, dt, dx,
                setup.theta, setup.h_min,
                free, slopes, r0, r1, c0, c1)  # fmt: skip
        qx, qx_new = qx_new, qx
        qy, qy_new = qy_new, qy
        if free.any():
            outflow_volume += _boundary_outflow(qx, qy) * dt * dx
        rain = setup.rain.at(t + dt / 2) * dt if setup.rain is not None else 0.0
        inflow_volume += rain * rows * cols * dx * dx
        t += dt
        _cells(h, qx, qy, dt, dx, rain, max_depth, max_speed, arrival, np.float32(t),
               setup.wet_depth, row_max, edges, r0, r1, c0, c1)  # fmt: skip
        for cells, hydrograph in sources:
            q = hydrograph.at(t - dt / 2)
            index = (cells[:, 0], cells[:, 1])
            h[index] += q * dt / (dx * dx * len(cells))
            inflow_volume += q * dt
            _track_set(h, index, max_depth, arrival, t, setup.wet_depth)
        for index, level in held:
            target = np.maximum(level.at(t) - z[index], 0.0)
            held_volume += float((target - h[index]).sum() * dx * dx)
            h[index] = target
            _track_set(h, index, max_depth, arrival, t, setup.wet_depth)
        h_max = max(row_max[r0:r1].max(initial=0.0), _held_max(h, held, sources))
        updates += int((r1 - r0) * (c1 - c0))
        steps += 1
        box = _grow(box, edges, rows, cols)
    if probes:
        for name, (r, c) in probes.items():
            recorded[name].append((t, float(h[r, c])))
    balance = VolumeBalance(
        initial, inflow_volume, held_volume, outflow_volume, float(h.sum() * dx * dx)
    )
    return Result(
        h, max_depth, max_speed, arrival, balance, steps, updates,
        time.perf_counter() - started, recorded,
    )  # fmt: skip


def _track_set(h, index, max_depth, arrival, t, wet_depth) -> None:
    """The maxima of cells set after the cell pass (inflows, held levels)."""
    max_depth[index] = np.maximum(max_depth[index], h[index])
    first = np.isnan(arrival[index]) & (h[index] > wet_depth)
    arrival[index] = np.where(first, t, arrival[index])


def _held_max(h, held, sources) -> float:
    """Deepest cell among those set after the cell pass (held levels, inflows)."""
    deepest = 0.0
    for index, _ in held:
        if len(index[0]):
            deepest = max(deepest, float(h[index].max()))
    for cells, _ in sources:
        deepest = max(deepest, float(h[cells[:, 0], cells[:, 1]].max()))
    return deepest


def _wet_box(h, masks, sources, rows, cols) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 that can hold water at the next step."""
    wet = h > 0
    for mask in masks:
        wet = wet | mask
    for cells, _ in sources:
        wet[cells[:, 0], cells[:, 1]] = True
    if not wet.any():
        return 0, 0, 0, 0
    r = np.flatnonzero(wet.any(axis=1))
    c = np.flatnonzero(wet.any(axis=0))
    return (
        int(max(r[0] - 1, 0)),
        int(min(r[-1] + 2, rows)),
        int(max(c[0] - 1, 0)),
        int(min(c[-1] + 2, cols)),
    )


def _grow(box, edges, rows, cols) -> tuple[int, int, int, int]:
    """The box grows by one cell on each side where its edge cells are wet."""
    r0, r1, c0, c1 = box
    return (
        r0 - 1 if edges[0] and r0 > 0 else r0,
        r1 + 1 if edges[1] and r1 < rows else r1,
        c0 - 1 if edges[2] and c0 > 0 else c0,
        c1 + 1 if edges[3] and c1 < cols else c1,
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _face(eta_i, eta_j, z_i, z_j, h_i, h_j, q, q_avg, q_orth, friction, slope, cap, h_min, root):
    """(new discharge, h_f^(−1/3)) of a face between cells i and j (positive from i to j), capped to
    a quarter of the upstream cell's water. `friction` is g·Δt·n², `slope` g·Δt/Δx and `cap`
    Δx/(4·Δt): the step's constants, multiplied rather than divided per face.

    h_f^(−7/3) is y⁷ with y = h_f^(−1/3), refined by one Newton step from the face's y of the
    previous step (y·(4 − h_f·y³)/3: no division) when the flow depth changed by less than
    3 % (relative error then below 1e-4, in a friction term), else computed: a general power
    per face was the scheme's hot spot."""
    h_f = max(eta_i, eta_j) - max(z_i, z_j)
    if h_f <= h_min:
        return 0.0, 0.0
    miss = h_f * root * root * root - 1.0
    root = (
        root * (4.0 - h_f * root * root * root) / 3.0 if abs(miss) < 0.03 else h_f ** (-1.0 / 3.0)
    )
    root2 = root * root
    speed = math.sqrt(q * q + q_orth * q_orth)
    new = (q_avg - slope * h_f * (eta_j - eta_i)) / (
        1.0 + friction * speed * root2 * root2 * root2 * root
    )
    limit = (h_i if new > 0 else h_j) * cap
    return max(-limit, min(limit, new)), root


@numba.njit(cache=True, nogil=True, inline="always")
def _normal_depth_flow(h, n2, slope, h_min, dt, dx):
    """Outflow per unit width at normal depth on a slope (Manning), capped like a face."""
    if h <= h_min:
        return 0.0
    return min(h ** (5.0 / 3.0) * math.sqrt(slope) / math.sqrt(n2), h * dx / (4.0 * dt))


@numba.njit(cache=True, nogil=True, parallel=True)
def _fluxes(z, h, n2, uniform, qx, qy, qx_new, qy_new, rx, ry, dt, dx, theta, h_min, free, slopes,
            r0, r1, c0, c1):  # fmt: skip
    """New discharges of the faces of the box's cells, in one pass over its rows (each row's x
    faces, then the y faces above it), the sides' faces apart."""
    rows, cols = z.shape
    side = 0.5 * (1.0 - theta)  # a side-wall face is not a neighbour: the face stands for it
    n2u = n2[0, 0]
    g_dt, slope, cap = G * dt, G * dt / dx, dx / (4.0 * dt)
    for r in prange(r0, r1 + 1):
        if r < r1:  # x faces of row r
            for c in range(max(c0, 1), min(c1 + 1, cols)):
                i = c - 1
                q = qx[r, c]
                west = qx[r, i] if c > 1 else q
                east = qx[r, c + 1] if c < cols - 1 else q
                qx_new[r, c], rx[r, c] = _face(
                    z[r, i] + h[r, i],
                    z[r, c] + h[r, c],
                    z[r, i],
                    z[r, c],
                    h[r, i],
                    h[r, c],
                    q,
                    theta * q + side * (west + east),
                    0.25 * (qy[r, i] + qy[r + 1, i] + qy[r, c] + qy[r + 1, c]),
                    g_dt * (n2u if uniform else 0.5 * (n2[r, i] + n2[r, c])),
                    slope,
                    cap,
                    h_min,
                    rx[r, c],
                )
            if c0 == 0:
                q = _normal_depth_flow(h[r, 0], n2[r, 0], slopes[2], h_min, dt, dx)
                qx_new[r, 0] = -q if free[2] else 0.0
            if c1 == cols:
                q = _normal_depth_flow(h[r, cols - 1], n2[r, cols - 1], slopes[3], h_min, dt, dx)
                qx_new[r, cols] = q if free[3] else 0.0
        if r == 0 or r == rows:  # y faces on the north or south side
            cell = 0 if r == 0 else rows - 1
            k = 0 if r == 0 else 1
            for c in range(c0, c1):
                q = _normal_depth_flow(h[cell, c], n2[cell, c], slopes[k], h_min, dt, dx)
                qy_new[r, c] = (q if k == 1 else -q) if free[k] else 0.0
        else:  # y faces between rows r − 1 and r
            i = r - 1
            north_ok = r > 1
            south_ok = r < rows - 1
            for c in range(c0, c1):
                q = qy[r, c]
                north = qy[i, c] if north_ok else q
                south = qy[r + 1, c] if south_ok else q
                qy_new[r, c], ry[r, c] = _face(
                    z[i, c] + h[i, c],
                    z[r, c] + h[r, c],
                    z[i, c],
                    z[r, c],
                    h[i, c],
                    h[r, c],
                    q,
                    theta * q + side * (north + south),
                    0.25 * (qx[i, c] + qx[i, c + 1] + qx[r, c] + qx[r, c + 1]),
                    g_dt * (n2u if uniform else 0.5 * (n2[i, c] + n2[r, c])),
                    slope,
                    cap,
                    h_min,
                    ry[r, c],
                )


def _boundary_outflow(qx: np.ndarray, qy: np.ndarray) -> float:
    """Discharge per unit width leaving through the sides, summed over their faces."""
    return float(qy[-1].sum() - qy[0].sum() + qx[:, -1].sum() - qx[:, 0].sum())


@numba.njit(cache=True, nogil=True, parallel=True)
def _cells(h, qx, qy, dt, dx, rain, max_depth, max_speed, arrival, t, wet_depth, row_max,
           edges, r0, r1, c0, c1):  # fmt: skip
    """Continuity (with rain) and the tracked maxima, in one pass; the deepest cell of each row
    and whether the box's edges are wet (it grows there)."""
    k = dt / dx
    wet_top = wet_bottom = wet_left = wet_right = False
    for r in prange(r0, r1):
        deepest = 0.0
        for c in range(c0, c1):
            d = h[r, c] + k * (qx[r, c] - qx[r, c + 1] + qy[r, c] - qy[r + 1, c]) + rain
            d = d if d > 0.0 else 0.0  # round-off only: faces take at most a quarter each
            h[r, c] = d
            if d > deepest:
                deepest = d
            if d > max_depth[r, c]:
                max_depth[r, c] = d
            if d > wet_depth:
                if np.isnan(arrival[r, c]):
                    arrival[r, c] = t
                u = 0.5 * (qx[r, c] + qx[r, c + 1])
                v = 0.5 * (qy[r, c] + qy[r + 1, c])
                speed = math.sqrt(u * u + v * v) / d
                if speed > max_speed[r, c]:
                    max_speed[r, c] = speed
        row_max[r] = deepest
    for c in range(c0, c1):
        wet_top = wet_top or h[r0, c] > 0
        wet_bottom = wet_bottom or h[r1 - 1, c] > 0
    for r in range(r0, r1):
        wet_left = wet_left or h[r, c0] > 0
        wet_right = wet_right or h[r, c1 - 1] > 0
    edges[0], edges[1], edges[2], edges[3] = wet_top, wet_bottom, wet_left, wet_right
