"""The shape of a sample territory: extent, seed, and the landforms every layer derives from.

Coordinates are Lambert-93 metres; landforms are given in fractions of the extent (u west→east,
v south→north) so that the same territory can be generated small for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The ground elevation (m) at points x, y: what the features and LiDAR returns stand on.
ElevationAt = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SampleTerritory:
    name: str = "estuaire-demo"
    xmin: float = 380_000.0
    ymin: float = 6_540_000.0
    width: float = 20_000.0
    height: float = 10_000.0
    resolution: float = 5.0  # DEM, like RGE ALTI 5 m
    seed: int = 2154
    lidar_density: float = 2.0  # points per m², LiDAR HD is ~10
    building_spacing: float = 25.0  # lattice of building slots, m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.xmin, self.ymin, self.xmin + self.width, self.ymin + self.height

    def u(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.xmin) / self.width

    def v(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y) - self.ymin) / self.height

    # --- landforms -------------------------------------------------------------------------
    def river_y(self, x: np.ndarray) -> np.ndarray:
        """Centreline of the river (it flows west, to the sea), a gentle meander."""
        u = self.u(x)
        return self.ymin + self.height * (
            0.5 + 0.07 * np.sin(2 * np.pi * 1.4 * u + 0.6) + 0.025 * np.sin(2 * np.pi * 4.1 * u)
        )

    def river_bed(self, x: np.ndarray) -> np.ndarray:
        """Bed elevation (m NGF): 0.2 m at the mouth, rising upstream."""
        return -0.8 + 22.0 * np.clip(self.u(x), 0, 1) ** 1.3

    def channel_half_width(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(6.0, 0.0016 * self.height * (1.6 - 0.8 * self.u(x)))

    def floodplain_half_width(self, x: np.ndarray) -> np.ndarray:
        return self.height * (0.035 + 0.045 * (1 - np.clip(self.u(x), 0, 1)))

    def coast_x(self, y: np.ndarray) -> np.ndarray:
        """The shoreline (x of mean sea level) as a function of y."""
        v = self.v(y)
        return self.xmin + self.width * (0.06 + 0.012 * np.sin(2 * np.pi * 1.7 * v + 1.0))

    def town_centre(self) -> tuple[float, float]:
        """On the floodplain, straddling the boundary between the two 10 km tiles."""
        x = self.xmin + 0.5 * self.width
        return x, float(self.river_y(np.array([x]))[0]) + 0.01 * self.height

    def villages(self) -> list[tuple[float, float, float]]:
        """(x, y, radius) of villages on the terraces and the plateau."""
        spots = [(0.22, 0.73, 0.035), (0.78, 0.26, 0.03), (0.14, 0.3, 0.025)]
        return [
            (self.xmin + a * self.width, self.ymin + b * self.height, r * self.height)
            for a, b, r in spots
        ]

    @property
    def town_radius(self) -> float:
        return 0.12 * self.height

    def gauge_x(self) -> float:
        return self.xmin + 0.8 * self.width


SMALL = SampleTerritory(
    name="estuaire-mini",
    xmin=388_000.0,
    ymin=6_544_000.0,
    width=4_000.0,
    height=2_000.0,
    resolution=5.0,
    lidar_density=0.5,
)
"""A 4 km × 2 km territory straddling the same two tiles, for fast tests."""
