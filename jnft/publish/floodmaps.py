"""A scenario's results in the lakehouse: the maps of each tile as COGs on the tile's grid
(max depth, max velocity, arrival time, screening depth), indexed in the `maps` Delta
table, and the exposure tables, each written per (scenario, tile) so that a re-run replaces
its own rows only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rasterio
from deltalake import write_deltalake

from jnft.formats import raster
from jnft.lakehouse.delta import ensure_table, holds_already
from jnft.lakehouse.store import Lakehouse
from jnft.simulation.exposure import EQUIPMENT_SCHEMA, EXPOSURE_SCHEMA
from jnft.simulation.run import TileFlood
from jnft.tiles import TARGET_CRS

NODATA = -9999.0
MAPS_SCHEMA = pa.schema(
    [
        ("scenario", pa.string()),
        ("tile", pa.string()),
        ("product", pa.string()),
        ("path", pa.string()),
        ("unit", pa.string()),
        ("resolution", pa.float64()),
        ("maximum", pa.float64()),
        ("wet_cells", pa.int64()),
        ("crs", pa.string()),
        ("computed_at", pa.timestamp("us", tz="UTC")),
    ]
)
UNITS = {"max_depth": "m", "max_speed": "m/s", "arrival": "s", "screening_depth": "m"}


def write_maps(
    store: Lakehouse,
    scenario: str,
    tile: str,
    products: dict[str, np.ndarray],
    transform: rasterio.Affine,
    crs: str,
) -> pa.Table:
    """COGs of the tile's products (NaN as nodata), and their rows of the `maps` index."""
    folder = store.simulation_dir(scenario, tile)
    rows = []
    now = dt.datetime.now(dt.UTC)
    for name, values in products.items():
        path = folder / f"{name}.tif"
        array = np.where(np.isfinite(values), values, NODATA).astype(np.float32)
        raster.write_cog(array, transform, crs, NODATA, path)
        store.publish(path)
        finite = values[np.isfinite(values)]
        rows.append(
            {
                "scenario": scenario,
                "tile": tile,
                "product": name,
                "path": path.relative_to(store.root).as_posix(),
                "unit": UNITS.get(name, ""),
                "resolution": float(transform.a),
                "maximum": float(finite.max()) if finite.size else None,
                "wet_cells": int((finite > 0).sum()),
                "crs": crs,
                "computed_at": now,
            }
        )
    table = pa.Table.from_pylist(rows, schema=MAPS_SCHEMA)
    replace_rows(store.simulation_table("maps"), table, MAPS_SCHEMA, scenario, tile)
    return table


def replace_rows(uri: str, rows: pa.Table, schema: pa.Schema, scenario: str, tile: str) -> None:
    """Replace a (scenario, tile)'s rows of a results table (idempotent re-runs)."""
    ensure_table(uri, schema, ["scenario"])
    rows = rows.cast(schema)
    # The same results computed again commit nothing (when they were computed does not count).
    if holds_already(uri, rows, {"scenario": [scenario], "tile": [tile]}, ("computed_at",)):
        return
    predicate = f"scenario = '{scenario}' AND tile = '{tile}'"
    write_deltalake(uri, rows, mode="overwrite", predicate=predicate)


def write_flood(store: Lakehouse, result: TileFlood) -> str | None:
    """A tile's flood in the lakehouse: its maps (COGs, indexed) and its exposure rows.
    Returns the path of the max-depth COG (None for a tile the terrain does not cover: no
    map, and no rows left of an earlier run)."""
    covered = result.products["max_depth"].size > 0
    products = result.products if covered else {}
    maps = write_maps(store, result.scenario, result.tile, products, result.transform, TARGET_CRS)
    for name, rows, schema in (
        ("exposure", result.exposure, EXPOSURE_SCHEMA),
        ("equipment", result.equipment, EQUIPMENT_SCHEMA),
    ):
        replace_rows(store.simulation_table(name), rows, schema, result.scenario, result.tile)
    if not covered:
        return None
    depth = maps.filter(pc.equal(maps["product"], "max_depth"))["path"][0].as_py()
    return str(store.file(depth))
