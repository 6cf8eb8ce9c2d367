"""Validation cases of the flood model, as setups anyone can run against the model:

- the analytical wetting front over a horizontal plane (Hunter et al. 2005, Bates et al.
  2010), whose exact solution is h(x, t) = [−(7/3)·n²·u²·(x − u·t)]^(3/7);
- Test 2 and Test 4 of the UK Environment Agency 2D benchmark (Néelz & Pender 2013),
  reconstructed from their published descriptions (the report's data files are not
  distributed with it): sizes, slopes, roughness, grid, durations and peak inflows are the
  report's; the depressions' exact shape, the hydrographs' exact ordinates and the output
  points' exact positions are ours, stated below;
- the static fill-spill of a volume poured at a cell, which Test 2's final state must match.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from jnft.simulation.inertial import HeldLevel, Hydrograph, Inflow, Setup

HOUR = 3600.0


@dataclass(frozen=True)
class Case:
    setup: Setup
    duration: float  # s
    points: dict[str, tuple[int, int]]  # output points (row, col)


def wetting_front(
    u: float = 0.4, n: float = 0.01, dx: float = 25.0, length: float = 5000.0, t: float = 9000.0
) -> Case:
    """A 1D front advancing at speed `u` over a dry horizontal plane, driven by the exact
    depth held at x = 0 (the centre of the first cell)."""
    cols = int(length / dx)
    z = np.zeros((3, cols))
    times = np.linspace(0.0, t, 901)
    depth = ((7 / 3) * n**2 * u**3 * times) ** (3 / 7)
    held = np.zeros_like(z, dtype=bool)
    held[:, 0] = True
    setup = Setup(z=z, dx=dx, manning=n,
                  held=[HeldLevel(held, Hydrograph(tuple(times), tuple(depth)))])  # fmt: skip
    return Case(setup, t, {})


def wetting_front_exact(x: np.ndarray, u: float, n: float, t: float) -> np.ndarray:
    return np.maximum(-(7 / 3) * n**2 * u**2 * (x - u * t), 0.0) ** (3 / 7)


def ea_test2() -> Case:
    """Test 2, filling of floodplain depressions: a 2000 m square at 20 m, sloping 1:1500
    along x and 1:3000 along y, with 4 × 4 depressions (ours: |sin·sin| bowls 1 m deep and
    500 m wide, corners raised 1 m and rims between rows 0.5 m, so that each bowl spills into
    one neighbour); inflow along a 100 m line running from the highest corner down its side,
    20 m³/s peak and a time base of ~85 min (ours: linear rise to the peak at 30 min, back to
    zero at 85 min: 51,000 m³), n = 0.03, closed boundaries, 48 h."""
    dx, size = 20.0, 2000.0
    centres = (np.arange(int(size / dx)) + 0.5) * dx
    x, y = np.meshgrid(centres, centres)
    bowls = np.abs(np.sin(np.pi * x / 500.0) * np.sin(np.pi * y / 500.0))
    # Raised corners, and rims between rows of bowls 0.5 m higher than between columns: each
    # bowl spills over the middle of its downhill side into one neighbour, even at the peak
    # inflow (the report's depressions cascade along a defined path).
    corners = np.cos(np.pi * x / 500.0) ** 2 * np.cos(np.pi * y / 500.0) ** 2
    row_rims = np.sin(np.pi * x / 500.0) ** 2 * np.cos(np.pi * y / 500.0) ** 2
    z = x / 1500.0 + y / 3000.0 - 1.0 * bowls + 1.0 * corners + 0.5 * row_rims
    rows, cols = z.shape
    line = tuple((rows - 1 - k, cols - 1) for k in range(int(100.0 / dx)))
    inflow = Inflow(line, Hydrograph((0.0, 0.5 * HOUR, 85 * 60.0), (0.0, 20.0, 0.0)))
    return Case(Setup(z=z, dx=dx, manning=0.03, inflows=[inflow]), 48 * HOUR, {})


def ea_test4() -> Case:
    """Test 4, speed of propagation over a horizontal floodplain: 1000 m (x) by 2000 m (y)
    at 5 m, z = 0, n = 0.05, closed boundaries, 5 h; inflow on a 20 m line in the middle of
    the western side (ours: 0 to 20 m³/s in 1 h, held to 3 h, back to 0 at 6 h — the
    report's peak and ~6 h time base). Output points (ours, x east and y north of the
    south-west corner, m): 50, 100, 200, 300 m east of the inflow on its axis, and two off
    the axis."""
    dx = 5.0
    rows, cols = int(2000 / dx), int(1000 / dx)
    z = np.zeros((rows, cols))
    middle = rows // 2
    cells = tuple((r, 0) for r in range(middle - 2, middle + 2))  # 4 cells = 20 m
    hydrograph = Hydrograph((0.0, HOUR, 3 * HOUR, 6 * HOUR), (0.0, 20.0, 20.0, 0.0))
    setup = Setup(z=z, dx=dx, manning=0.05, inflows=[Inflow(cells, hydrograph)])

    def cell(x: float, y: float) -> tuple[int, int]:
        return rows - 1 - int(y / dx), int(x / dx)

    points = {
        "P1": cell(50, 1000), "P2": cell(100, 1000), "P3": cell(200, 1000),
        "P4": cell(300, 1000), "P5": cell(100, 800), "P6": cell(200, 700),
    }  # fmt: skip
    return Case(setup, 5 * HOUR, points)


def fill_spill(z: np.ndarray, source: tuple[int, int], volume: float, dx: float) -> np.ndarray:
    """Water surface after pouring `volume` (m³) at `source` and letting it settle, without
    dynamics: water runs down the steepest path (through faces, as in the model) to a pit,
    fills it as a lake up to its spill point, overflows down from there to the next, and so
    on; a lake reaching a full one merges with it. Closed domain. Returns the surface (z where
    dry)."""
    surface = np.asarray(z, dtype=np.float64).copy()
    area = dx * dx
    remaining = volume
    r, c = source
    while remaining > 1e-9:
        r, c = _descend(surface, r, c)
        remaining, spill = _fill_lake(surface, r, c, remaining, area)
        if spill is None:
            break
        r, c = spill
    return surface


def _neighbours(r: int, c: int, rows: int, cols: int) -> Iterator[tuple[int, int]]:
    """The 4 neighbours: water crosses the model's faces, not its corners."""
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        if 0 <= r + dr < rows and 0 <= c + dc < cols:
            yield r + dr, c + dc


def _descend(surface: np.ndarray, r: int, c: int) -> tuple[int, int]:
    """Follow the steepest strictly-downhill path to a pit."""
    rows, cols = surface.shape
    while True:
        best = min(_neighbours(r, c, rows, cols), key=lambda p: surface[p])
        if surface[best] >= surface[r, c]:
            return r, c
        r, c = best


def _fill_lake(surface, r, c, volume, area):
    """Grow a lake from a pit: add the lowest cell of its shore until the water runs out (the
    level is then solved exactly) or the shore has a cell lower than the level (a spill)."""
    rows, cols = surface.shape
    lake = [(r, c)]
    inside = {(r, c)}
    shore = []
    seen = {(r, c)}
    for p in _neighbours(r, c, rows, cols):
        heapq.heappush(shore, (surface[p], p))
        seen.add(p)
    level = surface[r, c]
    while True:
        bed = np.array([surface[p] for p in lake])
        next_level = shore[0][0] if shore else np.inf
        needed = float(np.sum(np.maximum(next_level - bed, 0.0)) * area)
        if needed >= volume:
            # Solve sum(max(L - bed, 0)) * area = volume for L in [level, next_level].
            low, high = level, next_level if np.isfinite(next_level) else level + volume / area
            for _ in range(60):
                mid = (low + high) / 2
                if np.sum(np.maximum(mid - bed, 0.0)) * area < volume:
                    low = mid
                else:
                    high = mid
            for p in lake:
                surface[p] = max(surface[p], low)
            return 0.0, None
        level = next_level
        _, p = heapq.heappop(shore)
        if any(surface[q] < level for q in _neighbours(*p, rows, cols) if q not in inside):
            # The shore cell drains elsewhere: the lake spills there, full to this level.
            volume -= float(np.sum(np.maximum(level - bed, 0.0)) * area)
            for q in lake:
                surface[q] = max(surface[q], level)
            return volume, p
        lake.append(p)
        inside.add(p)
        for q in _neighbours(*p, rows, cols):
            if q not in seen:
                seen.add(q)
                heapq.heappush(shore, (surface[q], q))
