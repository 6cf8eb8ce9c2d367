import numpy as np
import polars as pl
import rasterio

from jnft.lakehouse.store import Lakehouse
from jnft.publish.floodmaps import NODATA, write_maps


def test_maps_are_cogs_indexed_once_per_scenario_and_tile(tmp_path):
    store = Lakehouse.at(tmp_path)
    transform = rasterio.Affine(25.0, 0, 379987.5, 0, -25.0, 6550012.5)
    depth = np.array([[0.0, 0.4], [1.2, np.nan]])
    products = {"max_depth": depth, "arrival": np.array([[np.nan, 60.0], [30.0, np.nan]])}
    for _ in range(2):  # a re-run replaces its rows
        index = write_maps(store, "crue_q100", "0380_6550", products, transform, "EPSG:2154")
    write_maps(store, "crue_q100", "0390_6550", products, transform, "EPSG:2154")
    table = pl.read_delta(store.simulation_table("maps"))
    assert table.height == 4
    row = index.to_pylist()[0]
    assert (row["product"], row["unit"], row["maximum"], row["wet_cells"]) == (
        "max_depth",
        "m",
        1.2,
        2,
    )
    with rasterio.open(store.root / row["path"]) as src:
        values = src.read(1)
        assert src.nodata == NODATA and values[1, 1] == NODATA and src.crs.to_epsg() == 2154


def test_the_same_results_again_commit_nothing(tmp_path):
    import datetime as dt

    import pyarrow as pa
    from deltalake import DeltaTable

    from jnft.publish.floodmaps import MAPS_SCHEMA, replace_rows

    uri = str(tmp_path / "maps")

    def rows(maximum: float) -> pa.Table:
        row = {"scenario": "s", "tile": "t", "product": "max_depth", "path": "p", "unit": "m",
               "resolution": 25.0, "maximum": maximum, "wet_cells": 3, "crs": "EPSG:2154",
               "computed_at": dt.datetime.now(dt.UTC)}  # fmt: skip
        return pa.Table.from_pylist([row], schema=MAPS_SCHEMA)

    replace_rows(uri, rows(1.5), MAPS_SCHEMA, "s", "t")
    version = DeltaTable(uri).version()
    replace_rows(uri, rows(1.5), MAPS_SCHEMA, "s", "t")  # computed again, later: same figures
    assert DeltaTable(uri).version() == version
    replace_rows(uri, rows(2.0), MAPS_SCHEMA, "s", "t")
    assert DeltaTable(uri).version() == version + 1
