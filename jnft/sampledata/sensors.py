"""Point clouds and sensor series of the sample territory: a LiDAR HD-like classified LAZ tile,
Hub'Eau hydrometry JSON for a river gauge and a REFMAR-like tide gauge record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import laspy
import numpy as np
import pyproj
import rasterio.features
import rasterio.transform
import shapely

from jnft.sampledata.territory import ElevationAt, SampleTerritory

STATION = "R521001001"  # Hub'Eau station code of the sample gauge (fictitious)


def write_lidar_tile(
    path: Path,
    t: SampleTerritory,
    rng: np.random.Generator,
    dem_at: ElevationAt,
    footprints: np.ndarray,
    heights: np.ndarray,
    tile_x: float,
    tile_y: float,
) -> int:
    """A 1 km classified LAZ (LAS 1.4, point format 6): ground 2, vegetation 3-5, building 6,
    water 9, with a WKT CRS like IGN's LiDAR HD. Returns the number of points."""
    size = min(1000.0, t.width, t.height)
    n = int(size * size * t.lidar_density)
    x = tile_x + rng.uniform(0, size, n)
    y = tile_y + rng.uniform(0, size, n)
    ground = dem_at(x, y) + rng.normal(0, 0.04, n)
    z = ground.copy()
    classification = np.full(n, 2, dtype=np.uint8)

    resolution = 0.5
    shape = (int(size / resolution), int(size / resolution))
    transform = rasterio.transform.from_origin(tile_x, tile_y + size, resolution, resolution)
    window = shapely.box(tile_x, tile_y, tile_x + size, tile_y + size)
    inside = shapely.intersects(footprints, window)
    roof = rasterio.features.rasterize(
        zip(footprints[inside], heights[inside], strict=True),
        out_shape=shape,
        transform=transform,
        fill=0.0,
        dtype="float32",
    )
    rows = np.clip(((tile_y + size - y) / resolution).astype(int), 0, shape[0] - 1)
    cols = np.clip(((x - tile_x) / resolution).astype(int), 0, shape[1] - 1)
    on_roof = roof[rows, cols] > 0
    z[on_roof] += roof[rows, cols][on_roof]
    classification[on_roof] = 6

    across = np.abs(y - t.river_y(x))
    water = (across < t.channel_half_width(x)) & ~on_roof
    z[water] = t.river_bed(x[water]) + 2.0 + rng.normal(0, 0.02, water.sum())
    classification[water] = 9

    canopy = (np.sin(x / 37.0) * np.sin(y / 53.0) + np.sin(x / 91.0 + 1.0)) > 0.9
    vegetation = canopy & ~on_roof & ~water & (rng.random(n) < 0.75)
    veg_height = rng.uniform(0.3, 14.0, vegetation.sum())
    z[vegetation] += veg_height
    classification[vegetation] = np.where(veg_height < 0.5, 3, np.where(veg_height < 1.5, 4, 5))

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [np.floor(tile_x), np.floor(tile_y), 0.0]
    header.scales = [0.01, 0.01, 0.01]
    header.add_crs(pyproj.CRS.from_epsg(2154))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = classification
    las.intensity = rng.integers(20, 3000, n).astype(np.uint16)
    las.return_number = np.ones(n, dtype=np.uint8)
    las.number_of_returns = np.ones(n, dtype=np.uint8)
    las.gps_time = np.sort(rng.uniform(3.3e8, 3.3e8 + 600, n))
    las.write(path)
    return n


def _discharge_days(rng: np.random.Generator, start: dt.date, end: dt.date) -> np.ndarray:
    """Daily mean discharge (m³/s): seasonal baseflow plus flood events with recessions."""
    days = (end - start).days + 1
    doy = (np.arange(days) + start.timetuple().tm_yday) % 365
    q = 9.0 + 7.0 * np.cos(2 * np.pi * (doy - 20) / 365.25)
    events = rng.random(days) < 6 / 365.25 * (1 + 0.8 * np.cos(2 * np.pi * (doy - 20) / 365.25))
    for day in np.flatnonzero(events):
        peak = rng.gumbel(45.0, 22.0)
        span = np.arange(0, min(25, int(days - day)))
        q[day + span] += max(peak, 5.0) * np.exp(-0.3 * span)
    return np.round(q, 3)


def write_hubeau(folder: Path, t: SampleTerritory, rng: np.random.Generator) -> list[Path]:
    """Hub'Eau hydrometry v2 responses: `obs_elab` daily means (QmnJ, l/s) over 32 years, and
    `observations_tr` for the last days (H in mm, Q in l/s)."""
    x = t.gauge_x()
    y = float(t.river_y(np.array([x]))[0])
    lon, lat = pyproj.Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
    site = STATION[:8]
    start, end = dt.date(1994, 1, 1), dt.date(2025, 12, 31)
    q = _discharge_days(rng, start, end)
    common = {
        "code_site": site,
        "code_station": STATION,
        "longitude": round(lon, 9),
        "latitude": round(lat, 9),
    }
    elab = [
        {
            **common,
            "date_obs_elab": (start + dt.timedelta(days=i)).isoformat(),
            "resultat_obs_elab": float(round(v * 1000)),
            "date_prod": "2026-01-05T06:00:00Z",
            "code_statut": 16,
            "libelle_statut": "Donnée validée",
            "code_methode": 12,
            "libelle_methode": "Interpolée",
            "code_qualification": 20,
            "libelle_qualification": "Bonne",
            "grandeur_hydro_elab": "QmnJ",
        }
        for i, v in enumerate(q)
    ]
    paths = []
    path = folder / f"obs_elab_{STATION}_QmnJ_{start}_{end}.json"
    path.write_text(
        json.dumps(
            {
                "count": len(elab),
                "first": None,
                "prev": None,
                "next": None,
                "api_version": "2.0.1",
                "data": elab,
            }
        )
    )
    paths.append(path)

    hours = 24 * 20
    t0 = dt.datetime(2025, 12, 10, tzinfo=dt.UTC)
    stamps = [t0 + dt.timedelta(hours=h) for h in range(hours)]
    qh = 12 + 60 * np.exp(-(((np.arange(hours) - 200) / 30.0) ** 2)) + rng.normal(0, 0.3, hours)
    stage = 0.3 + (qh / 18.0) ** (1 / 1.6)  # the station's rating: Q = 18 (H - 0.3)^1.6
    for quantity, values, factor in (("H", stage, 1000.0), ("Q", qh, 1000.0)):
        data = [
            {
                **common,
                "grandeur_hydro": quantity,
                "date_debut_serie": stamps[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "date_fin_serie": stamps[-1].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "code_systeme_alti_serie": 31,
                "date_obs": s.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "resultat_obs": float(round(v * factor)),
                "code_methode_obs": 0,
                "libelle_methode_obs": "Mesure brute",
                "code_qualification_obs": 16,
                "libelle_qualification_obs": "Non qualifiée",
                "code_statut": 4,
                "libelle_statut": "Donnée brute",
                "code_continuite": 0,
                "libelle_continuite": "Continue",
            }
            for s, v in zip(stamps, values, strict=True)
        ]
        path = folder / f"observations_tr_{STATION}_{quantity}_{stamps[-1]:%Y-%m-%d}.json"
        path.write_text(
            json.dumps(
                {
                    "count": len(data),
                    "first": None,
                    "prev": None,
                    "next": None,
                    "api_version": "2.0.1",
                    "data": data,
                }
            )
        )
        paths.append(path)
    return paths


def write_tide_gauge(path: Path, rng: np.random.Generator, year: int = 2025) -> None:
    """Hourly sea level of a year, REFMAR-like: heights in metres above chart datum (ZH)."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    hours = np.arange(24 * 365)
    level = (
        3.6
        + 2.1 * np.cos(2 * np.pi * hours / 12.4206)
        + 0.7 * np.cos(2 * np.pi * hours / 12.0 + 0.8)
        + 0.15 * np.cos(2 * np.pi * hours / 25.82)
    )
    surge = np.zeros_like(level)
    for peak_hour in rng.choice(len(hours) - 72, size=5, replace=False):
        span = np.arange(-24, 48)
        surge[peak_hour + span + 24] += rng.uniform(0.4, 1.3) * np.exp(-((span / 14.0) ** 2))
    lines = [
        "# Marégraphe de Port-des-Jumeaux (fictif) - hauteurs horaires",
        "# Référence verticale : zéro hydrographique (ZH), ZH = NGF-IGN69 - 3.20 m",
        "# Fuseau horaire : UTC",
        "Date;Valeur;Source",
    ]
    lines += [
        f"{start + dt.timedelta(hours=int(h)):%d/%m/%Y %H:%M:%S};{v:.3f};4"
        for h, v in zip(hours, level + surge, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_gaugings(path: Path, rng: np.random.Generator, count: int = 40) -> None:
    """Gaugings of the sample gauge (stage in mm, discharge in l/s, as HYDRO exports them),
    scattered around the station's rating Q = 18 (H − 0.3)^1.6 with 5 % measurement error."""
    days = np.sort(rng.choice(np.arange(365 * 10), size=count, replace=False))
    stage = rng.uniform(0.45, 3.5, count)
    discharge = 18 * (stage - 0.3) ** 1.6 * np.exp(rng.normal(0, 0.05, count))
    first = dt.date(2015, 1, 1)
    lines = ["date;H_mm;Q_ls"] + [
        f"{first + dt.timedelta(days=int(d))};{h * 1000:.0f};{q * 1000:.0f}"
        for d, h, q in zip(days, stage, discharge, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
