"""Relief of the sample territory: sea, beach and dunes, a river valley with floodplain and
terraces rising to a hilly plateau, a few closed depressions. Smooth, not noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from jnft.sampledata.territory import SampleTerritory


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Correlated noise in [-1, 1] with features of about `scale` cells."""
    coarse = rng.standard_normal((shape[0] // scale + 3, shape[1] // scale + 3)).astype(np.float32)
    fine = ndimage.zoom(coarse, scale, order=1)[: shape[0], : shape[1]]
    return fine / max(np.abs(fine).max(), 1e-9)


def _hills(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, waves: int = 6) -> np.ndarray:
    """Rolling hills in [-1, 1]: a sum of separable waves (outer products, cheap on big grids)."""
    total = np.zeros((v.shape[0], u.shape[1]), dtype=np.float32)
    for _ in range(waves):
        fu, fv = rng.uniform(1.5, 5.0, size=2)
        pu, pv = rng.uniform(0, 2 * np.pi, size=2)
        total += np.sin(2 * np.pi * fu * u + pu) * np.sin(2 * np.pi * fv * v + pv)
    return total / waves * 2


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def cell_centres(territory: SampleTerritory) -> tuple[np.ndarray, np.ndarray]:
    """1-D x (west→east) and y (north→south) of the DEM cell centres (IGN registration)."""
    r = territory.resolution
    xmin, ymin, xmax, ymax = territory.bounds
    x = np.arange(xmin, xmax, r)
    y = np.arange(ymax, ymin, -r)
    return x, y


def elevation(
    territory: SampleTerritory, x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Ground elevation (m, IGN69) on the grid x (columns) × y (rows), float32."""
    t = territory
    # Broadcast 1-D profiles (x along columns, y along rows): most landforms depend on one axis.
    X, Y = np.asarray(x)[None, :], np.asarray(y)[:, None]
    shape = (len(y), len(x))
    u, v = t.u(X).astype(np.float32), t.v(Y).astype(np.float32)

    # Plateau rising inland, with rolling hills.
    hills = _hills(rng, u, v)
    plateau = 14 + 55 * np.clip(u, 0, 1) ** 0.8 + 6 * hills + 3 * np.sin(2 * np.pi * (u * 2 + v))

    # The valley: distance across from the river centreline.
    across = np.abs(Y - t.river_y(X)).astype(np.float32)
    bed = t.river_bed(X).astype(np.float32)
    channel = t.channel_half_width(X).astype(np.float32)
    plain = t.floodplain_half_width(X).astype(np.float32)
    terrace_width = 0.025 * t.height
    wall_width = 0.1 * t.height
    floodplain = bed + 1.9 + 0.9 * (across / plain) ** 1.5
    terrace = floodplain + 3.5 + 1.0 * _smoothstep((across - plain) / terrace_width)
    wall = _smoothstep((across - plain - terrace_width) / wall_width)
    ground = np.where(
        across <= plain,
        floodplain,
        np.where(
            across <= plain + terrace_width,
            terrace,
            (1 - wall) * (bed + 5.4 + 1.9) + wall * np.maximum(plateau, bed + 7.3),
        ),
    )
    # Terrace riser: a steep but continuous step at the floodplain edge.
    riser = _smoothstep((across - plain) / (0.004 * t.height + t.resolution))
    ground = np.where(
        across <= plain + terrace_width, floodplain + riser * (terrace - floodplain), ground
    )
    # The channel, 2.5 m deep at its axis.
    in_channel = across < channel
    ground = np.where(
        in_channel,
        bed - 0.5 * (1 - (across / channel) ** 2) + 2.0 * (across / channel) ** 2,
        ground,
    )

    # Closed depressions (marshes) on the floodplain behind the dunes.
    for cu, dv, depth, size in ((0.16, 0.55, 1.8, 0.018), (0.33, -0.6, 1.2, 0.012)):
        cx = t.xmin + cu * t.width
        cy = float(t.river_y(np.array([cx]))[0]) + dv * float(
            t.floodplain_half_width(np.array([cx]))[0]
        )
        r2 = (((X - cx) ** 2 + (Y - cy) ** 2) / (size * t.height) ** 2).astype(np.float32)
        ground = ground - depth * np.exp(-r2) * (across > channel * 2)

    # The coast: sea floor, beach, a dune ridge with a gap at the estuary.
    coast = t.coast_x(Y)  # 1-D: float64 keeps Lambert-93 metres exact
    inland = (X - coast).astype(np.float32)
    sea_floor = -1.0 - 12.0 * np.clip(-inland / (0.08 * t.width), 0, 1)
    beach = 2.5 * inland / (0.006 * t.width)
    dune_axis = 0.009 * t.width
    dune_sigma = 0.003 * t.width
    estuary = _smoothstep((across - plain * 0.9) / (plain * 0.4))
    dunes = (7 + 2 * hills) * np.exp(-(((inland - dune_axis) / dune_sigma) ** 2)) * estuary
    shore = np.clip(inland / (0.02 * t.width), 0, 1)
    ground = np.where(inland < 0, sea_floor, (1 - shore) * np.minimum(beach, 2.5) + shore * ground)
    ground = ground + np.where(inland >= 0, dunes, 0)

    micro = 0.15 * _smooth_noise(rng, shape, 3)
    return (ground + micro * (inland > 0)).astype(np.float32)


def sample_elevation(
    dem: np.ndarray, territory: SampleTerritory, px: np.ndarray, py: np.ndarray
) -> np.ndarray:
    """Bilinear elevation of the DEM at points (for LiDAR returns and building bases)."""
    r = territory.resolution
    xmin, _, _, ymax = territory.bounds
    cols = (np.asarray(px) - xmin) / r
    rows = (ymax - np.asarray(py)) / r
    return ndimage.map_coordinates(dem, [rows, cols], order=1, mode="nearest")
