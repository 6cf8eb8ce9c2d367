"""Reading the current territory back for a calculation: a layer's current rows and
geometries, the DEM's tiles mosaicked over the extent of a model grid, a station's series."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl
import pyarrow as pa
import rasterio
import rasterio.merge
import shapely

from jnft.lakehouse.delta import open_table
from jnft.lakehouse.history import current
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse
from jnft.simulation.design import CONTINUOUS, GaugeSeries, Sampling
from jnft.tiles import BBOX_COLUMNS, model_resolution


def layer(store: Lakehouse, concept: str, columns: list[str] | None = None) -> pa.Table:
    """The current rows of a concept (all tiles)."""
    rows = current(store.table_uri(concept, "versions"), store.table_uri(concept, "closures"))
    return rows if columns is None else rows.select(columns)


def geometries(rows: pa.Table) -> np.ndarray:
    return shapely.from_wkb(rows["geometry"].to_numpy(zero_copy_only=False))


def dem_mosaic(
    store: Lakehouse, concept: str, bounds: tuple[float, float, float, float], resolution: float
) -> np.ndarray:
    """The DEM's COG tiles over `bounds` (cell edges) at their own `resolution`, float64 with
    NaN where no tile has data."""
    index = layer(store, concept, ["path", "nodata"])
    if not index.num_rows:
        raise FileNotFoundError(f"no {concept} tile in the lakehouse: materialize it first")
    paths = [str(store.file(p)) for p in index["path"].to_pylist()]
    sources = [rasterio.open(p) for p in paths]
    try:
        array, _ = rasterio.merge.merge(
            sources, bounds=bounds, res=resolution, nodata=np.nan, dtype="float64"
        )
    finally:
        for src in sources:
            src.close()
    z = array[0]
    for nodata in set(index["nodata"].to_pylist()):
        z[z == nodata] = np.nan
    return z


def dem_over_grid(
    store: Lakehouse, concept: str, resolution: float
) -> tuple[np.ndarray, float, float, float]:
    """(dem, x0, y1, its resolution): the DEM at its own resolution over the extent of its
    tiles widened to whole cells of a model grid of `resolution` (rounded to a multiple of
    the DEM's: centres on its multiples)."""
    index = layer(store, concept, ["resolution", *BBOX_COLUMNS])
    if not index.num_rows:
        raise FileNotFoundError(f"no {concept} tile in the lakehouse: materialize it first")
    source = index["resolution"][0].as_py()
    resolution = model_resolution(resolution, source)
    lo = [math.floor(min(index[c].to_pylist()) / resolution) * resolution for c in BBOX_COLUMNS[:2]]
    hi = [math.ceil(max(index[c].to_pylist()) / resolution) * resolution for c in BBOX_COLUMNS[2:]]
    half = resolution / 2
    bounds = (lo[0] - half, lo[1] + half, hi[0] - half, hi[1] + half)
    return dem_mosaic(store, concept, bounds, source), bounds[0], bounds[3], source


def station_series(store: Lakehouse, concept: str, station: str, variable: str) -> pl.DataFrame:
    """(time, value) of a station's variable, current values, in time order."""
    frame = current_observations(store.table_uri(concept, "observations"), [station])
    series = frame.filter(pl.col("variable") == variable).select("time", "value").sort("time")
    if series.is_empty():
        raise FileNotFoundError(f"no {variable} series of station {station} in {concept}")
    return series


def series_sampling(store: Lakehouse, concept: str) -> Sampling:
    """How a series concept was sampled, as its landing recorded its fiche's declaration
    (continuous when it recorded none)."""
    table = open_table(store.table_uri(concept, "sampling"))
    if table is None:
        return CONTINUOUS
    (row,) = table.to_pyarrow_table(
        columns=["kind", "year_start_month", "threshold", "years"]
    ).to_pylist()
    return Sampling(row["kind"], row["year_start_month"], row["threshold"], row["years"])


def scenario_series(
    store: Lakehouse, gauges: Mapping[str, tuple[str, str, str]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(times, values) of each named series, with its sampling (a `GaugeSeries`): name ->
    (concept, station, variable)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (concept, station, variable) in gauges.items():
        frame = station_series(store, concept, station, variable)
        sampling = series_sampling(store, concept)
        out[name] = GaugeSeries(frame["time"].to_numpy(), frame["value"].to_numpy(), sampling)
    return out
