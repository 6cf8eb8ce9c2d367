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
from typing import Any, cast

import numba
import numpy as np
from numba import prange

G = 9.81
SIDES = ("north", "south", "west", "east")
# Raised when a change to the scheme changes its results: cached runs are keyed on it.
SCHEME_VERSION = 2


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
    max_depth = h.astype(np.float32)
    max_speed = np.zeros(z.shape, dtype=np.float32)
    arrival = np.where(h > setup.wet_depth, 0.0, np.nan).astype(np.float32)
    outflows = [setup.sides.get(s) for s in SIDES]  # None: closed
    free = np.array([o is not None for o in outflows])
    slopes = np.array([o.slope if o is not None else 0.0 for o in outflows])
    held: list[tuple[np.ndarray, Hydrograph]] = [
        (np.flatnonzero(hl.mask), hl.level) for hl in setup.held
    ]
    sources: list[tuple[np.ndarray, Hydrograph]] = []
    for inflow in setup.inflows:
        cells = np.array(inflow.cells, dtype=np.int64).reshape(-1, 2)
        if ((cells < 0) | (cells >= (rows, cols))).any():
            raise ValueError("an inflow cell lies outside the grid")
        # numpy's stubs type the flat index of a 2D index array as a scalar
        flat = cast(np.ndarray, np.ravel_multi_index(cells.T, (rows, cols)))
        sources.append((flat, inflow.discharge))
    initial = float(h.sum() * dx * dx)
    inflow_volume = held_volume = outflow_volume = 0.0
    box = (
        (0, rows, 0, cols)
        if setup.rain is not None
        else _wet_box(h, [cells for cells, _ in held + sources])
    )
    edges = np.zeros(4, dtype=np.bool_)
    row_max = np.zeros(rows)
    h_max = float(h.max()) if h.size else 0.0
    t, steps, updates = 0.0, 0, 0
    recorded: dict[str, list[tuple[float, float]]] = {name: [] for name in probes or {}}
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
        _fluxes(z, h, n2, uniform, qx, qy, qx_new, qy_new, dt, dx,
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
        h_max = row_max[r0:r1].max(initial=0.0)
        for cells, hydrograph in sources:
            q = hydrograph.at(t - dt / 2)
            deepest = _pour(h, cells, q * dt / (dx * dx * len(cells)), max_depth, arrival,
                            t, setup.wet_depth)  # fmt: skip
            inflow_volume += q * dt
            h_max = max(h_max, deepest)
        for cells, level in held:
            given, deepest = _hold(h, z, cells, level.at(t), max_depth, arrival, t,
                                   setup.wet_depth)  # fmt: skip
            held_volume += given * dx * dx
            h_max = max(h_max, deepest)
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


@numba.njit(cache=True, nogil=True, inline="always")
def _tracked(d, c, max_depth, arrival, t, wet_depth):
    """Record the depth `d` just set in cell c (flat index) in the maxima; returns it."""
    max_depth[c] = max(max_depth[c], np.float32(d))
    if d > wet_depth and np.isnan(arrival[c]):
        arrival[c] = t
    return d


@numba.njit(cache=True, nogil=True)
def _pour(h, cells, depth, max_depth, arrival, t, wet_depth):
    """An inflow: `depth` added to each of `cells` (flat indices); returns the deepest."""
    hf, md, ar = h.ravel(), max_depth.ravel(), arrival.ravel()
    deepest = 0.0
    for c in cells:
        hf[c] += depth
        deepest = max(deepest, _tracked(hf[c], c, md, ar, t, wet_depth))
    return deepest


@numba.njit(cache=True, nogil=True)
def _hold(h, z, cells, level, max_depth, arrival, t, wet_depth):
    """Cells held at `level`: (volume they gave, per unit area, the deepest)."""
    hf, zf, md, ar = h.ravel(), z.ravel(), max_depth.ravel(), arrival.ravel()
    given = deepest = 0.0
    for c in cells:
        d = max(level - zf[c], 0.0)
        given += d - hf[c]
        hf[c] = d
        deepest = max(deepest, _tracked(d, c, md, ar, t, wet_depth))
    return given, deepest


def _wet_box(h: np.ndarray, forced: list[np.ndarray]) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 that can hold water at the next step: around the wet
    cells and the `forced` ones (flat indices: held levels, inflows)."""
    rows, cols = h.shape
    wet = h > 0
    for cells in forced:
        wet.ravel()[cells] = True
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


def _grow(
    box: tuple[int, int, int, int], edges: np.ndarray, rows: int, cols: int
) -> tuple[int, int, int, int]:
    """The box grows by one cell on each side where its edge cells are wet."""
    r0, r1, c0, c1 = box
    return (
        r0 - 1 if edges[0] and r0 > 0 else r0,
        r1 + 1 if edges[1] and r1 < rows else r1,
        c0 - 1 if edges[2] and c0 > 0 else c0,
        c1 + 1 if edges[3] and c1 < cols else c1,
    )


# Bits of a float32 first guess of x^(−1/3): the magic-number method of the fast inverse square
# root, for the cube root.
_INV_CBRT_MAGIC = np.int32(0x54A2FA8C)
_THIRD = np.float32(1.0 / 3.0)

# error_model="numpy": no ZeroDivisionError branch in the loops, so LLVM vectorizes them.
_KERNEL: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(inline="always", **_KERNEL)
def _flow(h_f, y, eta_i, eta_j, h_i, h_j, q_avg, q, q_orth, friction, slope, cap, h_min):
    """New discharge of a face between cells i and j (positive from i to j), capped to a quarter
    of the upstream cell's water; 0 where the flow depth h_f is below h_min. `friction` is
    g·Δt·n², `slope` g·Δt/Δx and `cap` Δx/(4·Δt): the step's constants, multiplied rather
    than divided per face. h_f^(−7/3) is y⁷ with y = h_f^(−1/3), refined from the first guess
    by three Newton steps (relative error below 1e-9): no branch, no general power, so the row
    loops vectorize."""
    hp = max(h_f, h_min)
    y = y * (4.0 - hp * y * y * y) * (1.0 / 3.0)
    y = y * (4.0 - hp * y * y * y) * (1.0 / 3.0)
    y = y * (4.0 - hp * y * y * y) * (1.0 / 3.0)
    y2 = y * y
    speed = math.sqrt(q * q + q_orth * q_orth)
    new = (q_avg - slope * hp * (eta_j - eta_i)) / (1.0 + friction * speed * y2 * y2 * y2 * y)
    limit = (h_i if new > 0 else h_j) * cap
    new = max(-limit, min(limit, new))
    return new if h_f > h_min else 0.0


@numba.njit(inline="always", **_KERNEL)
def _inverse_cube_roots(buf, n):
    """buf[:n] (float32 flow depths) ← first guesses of their inverse cube roots, a few % off,
    by integer arithmetic on the bits."""
    bits = buf.view(np.int32)
    for k in range(n):
        bits[k] = _INV_CBRT_MAGIC - np.int32(np.float32(bits[k]) * _THIRD)


@numba.njit(**_KERNEL)
def _x_faces(zr, hr, q, up, down, n2r, uniform, qn, buf, lo, hi, theta, g_dt, slope, cap, h_min):
    """x faces lo..hi−1 of a row (1 ≤ lo, hi ≤ cols), face c between cells c − 1 and c: `q`,
    `qn` the row's old and new discharges, `up` and `down` the y faces above and below it;
    `buf` a scratch row. A side-wall face is not a neighbour in θ: the first and last inner
    faces stand for it (computed again, alone, with themselves as that neighbour)."""
    cols = hr.size
    _x_span(zr, hr, q, up, down, n2r, uniform, qn, buf, lo, hi, q[lo - 1 : hi - 1],
            q[lo + 1 : hi + 1], theta, g_dt, slope, cap, h_min)  # fmt: skip
    if lo == 1 < hi:
        _x_span(zr, hr, q, up, down, n2r, uniform, qn, buf, 1, 2, q[1:2],
                q[2:3] if cols > 2 else q[1:2], theta, g_dt, slope, cap, h_min)  # fmt: skip
    if hi == cols > max(lo, 2):
        _x_span(zr, hr, q, up, down, n2r, uniform, qn, buf, cols - 1, cols, q[cols - 2 : cols - 1],
                q[cols - 1 : cols], theta, g_dt, slope, cap, h_min)  # fmt: skip


@numba.njit(inline="always", **_KERNEL)
def _x_span(zr, hr, q, up, down, n2r, uniform, qn, buf, a, b, before, after, theta, g_dt, slope,
            cap, h_min):  # fmt: skip
    """x faces a..b−1 with `before` and `after` their neighbours in θ. Shifted views, so the
    loops index from zero: a negative index makes numba wrap it around, and LLVM cannot
    vectorize the resulting indirect access."""
    w, e = slice(a - 1, b - 1), slice(a, b)
    _face_row(zr[w], zr[e], hr[w], hr[e], q[e], before, after, up[w], down[w], up[e], down[e],
              n2r[w], n2r[e], uniform, qn[e], buf, theta, g_dt, slope, cap, h_min)  # fmt: skip


@numba.njit(**_KERNEL)
def _y_faces(zi, zr, hi, hr, q, north, south, left, right, n2i, n2r, uniform, qn, buf, lo, hi_c,
             theta, g_dt, slope, cap, h_min):  # fmt: skip
    """y faces lo..hi_c−1 between rows i (north) and r: `q`, `qn` their old and new
    discharges, `north` and `south` their neighbours in θ, `left` and `right` the x faces of
    the two rows; `buf` a scratch row."""
    at, after = slice(lo, hi_c), slice(lo + 1, hi_c + 1)
    _face_row(zi[at], zr[at], hi[at], hr[at], q[at], north[at], south[at], left[at], left[after],
              right[at], right[after], n2i[at], n2r[at], uniform, qn[at], buf, theta, g_dt, slope,
              cap, h_min)  # fmt: skip


@numba.njit(**_KERNEL)
def _face_row(zi, zj, hi, hj, q, before, after, orth_a, orth_b, orth_c, orth_d, n2i, n2j,
              uniform, out, buf, theta, g_dt, slope, cap, h_min):  # fmt: skip
    """New discharges `out` of a row of faces between cells i and j, every array aligned on
    the faces and indexed from zero: `q` their discharges, `before` and `after` their
    neighbours in θ, the four orthogonal discharges around each face, n² of both cells; `buf`
    a scratch row."""
    n = out.size
    side = 0.5 * (1.0 - theta)
    for k in range(n):
        buf[k] = np.float32(max(max(zi[k] + hi[k], zj[k] + hj[k]) - max(zi[k], zj[k]), h_min))
    _inverse_cube_roots(buf, n)
    for k in range(n):
        eta_i, eta_j = zi[k] + hi[k], zj[k] + hj[k]
        out[k] = _flow(
            max(eta_i, eta_j) - max(zi[k], zj[k]),
            np.float64(buf[k]),
            eta_i,
            eta_j,
            hi[k],
            hj[k],
            theta * q[k] + side * (before[k] + after[k]),
            q[k],
            0.25 * (orth_a[k] + orth_b[k] + orth_c[k] + orth_d[k]),
            g_dt * (n2i[0] if uniform else 0.5 * (n2i[k] + n2j[k])),
            slope,
            cap,
            h_min,
        )


@numba.njit(cache=True, nogil=True)
def _normal_depth_flow(h, n2, slope, h_min, dt, dx):
    """Outflow per unit width at normal depth on a slope (Manning), capped like a face."""
    if h <= h_min:
        return 0.0
    return min(h ** (5.0 / 3.0) * math.sqrt(slope) / math.sqrt(n2), h * dx / (4.0 * dt))


@numba.njit(cache=True, nogil=True, parallel=True)
def _fluxes(z, h, n2, uniform, qx, qy, qx_new, qy_new, dt, dx, theta, h_min, free, slopes,
            r0, r1, c0, c1):  # fmt: skip
    """New discharges of the faces of the box's cells, row by row (each row's x faces, then the
    y faces above it), the sides' faces apart."""
    rows, cols = z.shape
    g_dt, slope, cap = G * dt, G * dt / dx, dx / (4.0 * dt)
    for r in prange(r0, r1 + 1):
        buf = np.empty(cols + 1, np.float32)  # flow depths, then h_f^(−1/3) guesses
        if r < r1:
            _x_faces(z[r], h[r], qx[r], qy[r], qy[r + 1], n2[r], uniform, qx_new[r], buf,
                     max(c0, 1), min(c1 + 1, cols), theta, g_dt, slope, cap, h_min)  # fmt: skip
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
            _y_faces(z[i], z[r], h[i], h[r], qy[r], qy[i] if r > 1 else qy[r],
                     qy[r + 1] if r < rows - 1 else qy[r], qx[i], qx[r], n2[i], n2[r], uniform,
                     qy_new[r], buf, c0, c1, theta, g_dt, slope, cap, h_min)  # fmt: skip


def _boundary_outflow(qx: np.ndarray, qy: np.ndarray) -> float:
    """Discharge per unit width leaving through the sides, summed over their faces."""
    return float(qy[-1].sum() - qy[0].sum() + qx[:, -1].sum() - qx[:, 0].sum())


@numba.njit(**_KERNEL)
def _cell_row(hr, west, east, north, south, k_dx, rain, max_depth, max_speed, arrival, t,
              wet_depth):  # fmt: skip
    """Continuity (with rain) for a row of cells between their four faces' discharges, and the
    tracked maxima; returns the row's deepest water. Branch-free, so the loop vectorizes."""
    for k in range(hr.size):
        d = hr[k] + k_dx * (west[k] - east[k] + north[k] - south[k]) + rain
        d = max(d, 0.0)  # round-off only: faces take at most a quarter each
        hr[k] = d
        max_depth[k] = max(max_depth[k], np.float32(d))
        wet = d > wet_depth
        arrival[k] = t if wet & np.isnan(arrival[k]) else arrival[k]
        u = 0.5 * (west[k] + east[k])
        v = 0.5 * (north[k] + south[k])
        speed = np.float32(math.sqrt(u * u + v * v) / max(d, wet_depth))
        max_speed[k] = max(max_speed[k], speed if wet else np.float32(0.0))
    # Depths are ≥ 0, and the bits of non-negative floats order like the floats: an integer
    # maximum, which vectorizes where a float one (NaN-aware) does not.
    deepest = np.int64(0)
    for bits in hr.view(np.int64):
        deepest = max(deepest, bits)
    return deepest


@numba.njit(cache=True, nogil=True, parallel=True)
def _cells(h, qx, qy, dt, dx, rain, max_depth, max_speed, arrival, t, wet_depth, row_max,
           edges, r0, r1, c0, c1):  # fmt: skip
    """Continuity and the tracked maxima over the box; the deepest cell of each row and whether
    the box's edges are wet (it grows there)."""
    k_dx = dt / dx
    deepest = np.empty(r1 - r0, np.int64)
    for r in prange(r0, r1):
        at = slice(c0, c1)
        deepest[r - r0] = _cell_row(h[r, at], qx[r, c0:c1], qx[r, c0 + 1 : c1 + 1], qy[r, at],
                                    qy[r + 1, at], k_dx, rain, max_depth[r, at], max_speed[r, at],
                                    arrival[r, at], t, wet_depth)  # fmt: skip
    row_max[r0:r1] = deepest.view(np.float64)
    wet_top = wet_bottom = wet_left = wet_right = False
    for c in range(c0, c1):
        wet_top = wet_top or h[r0, c] > 0
        wet_bottom = wet_bottom or h[r1 - 1, c] > 0
    for r in range(r0, r1):
        wet_left = wet_left or h[r, c0] > 0
        wet_right = wet_right or h[r, c1 - 1] > 0
    edges[0], edges[1], edges[2], edges[3] = wet_top, wet_bottom, wet_left, wet_right
