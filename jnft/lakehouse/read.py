"""Reading the territory back from the lakehouse for a calculation: a DEM on a model grid,
the current geometries and attributes of a layer, a station's series."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import rasterio
import rasterio.merge
import shapely

from jnft.lakehouse.history import current
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse


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
    paths = [str(store.root / p) for p in index["path"].to_pylist()]
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


def station_series(store: Lakehouse, concept: str, station: str, variable: str) -> pl.DataFrame:
    """(time, value) of a station's variable, current values, in time order."""
    frame = current_observations(store.table_uri(concept, "observations"), [station])
    series = frame.filter(pl.col("variable") == variable).select("time", "value").sort("time")
    if series.is_empty():
        raise FileNotFoundError(f"no {variable} series of station {station} in {concept}")
    return series
