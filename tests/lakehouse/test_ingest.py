import dataclasses
import datetime as dt

import pytest
from deltalake import DeltaTable

from jnft.lakehouse.bronze import land_files
from jnft.lakehouse.history import current, history
from jnft.lakehouse.ingest import RasterSource, VectorSource, ingest_raster, ingest_vector
from jnft.lakehouse.store import Lakehouse
from jnft.lakehouse.vector import LayerSpec

BATIMENT = VectorSource(
    "GPKG",
    "batiment",
    "EPSG:2154",
    LayerSpec(
        columns={
            "cleabs": "string",
            "usage_1": "string",
            "hauteur": "float64",
            "nombre_de_logements": "int32",
        },
        rename={},
        id_column="cleabs",
        identity_columns=[],
    ),
)
VINTAGE = r"_(\d{4}-\d{2}-\d{2})\.gpkg$"


@pytest.fixture
def landed(small_sources, tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    entries, _ = land_files(store, "bdtopo", small_sources, "bdtopo/*/*.gpkg", VINTAGE)
    return store, entries


def tables(store):
    return store.table_uri("batiment", "versions"), store.table_uri("batiment", "closures")


def test_both_vintages_are_merged_in_order_per_tile(landed):
    store, entries = landed
    report = ingest_vector(store, "batiment", BATIMENT, entries, tiles=["0380_6550"], run_id="r1")
    assert [m.vintage for m in report.merges] == [dt.date(2023, 3, 15), dt.date(2025, 3, 15)]
    assert report.merges[0].inserted > 0 and report.merges[1].changed > 0
    rows = current(*tables(store))
    assert set(rows["tile"].to_pylist()) == {"0380_6550"}
    report = ingest_vector(store, "batiment", BATIMENT, entries, tiles=["0390_6550"], run_id="r2")
    everything = history(*tables(store))
    assert set(everything["tile"].to_pylist()) == {"0380_6550", "0390_6550"}
    # Provenance: every version traces to the bronze file it came from.
    assert set(everything["source_sha256"].to_pylist()) == {e.sha256 for e in entries}


def test_rerun_changes_nothing_and_is_logged(landed):
    store, entries = landed
    ingest_vector(store, "batiment", BATIMENT, entries, tiles=None, run_id="r1")
    version = DeltaTable(tables(store)[0]).version()
    again = ingest_vector(store, "batiment", BATIMENT, entries, tiles=None, run_id="r2")
    assert again.merges == [] and again.skipped_vintages == ["2023-03-15", "2025-03-15"]
    assert DeltaTable(tables(store)[0]).version() == version
    log = DeltaTable(store.table_uri("batiment", "merges")).to_pyarrow_table()
    assert log.num_rows == 4  # 2 vintages × 2 tiles


def test_a_late_older_vintage_is_refused(landed, small_sources, tmp_path):
    store, entries = landed
    newest = [e for e in entries if e.vintage == "2025-03-15"]
    ingest_vector(store, "batiment", BATIMENT, newest, tiles=None, run_id="r1")
    with pytest.raises(ValueError, match="older than vintage 2025-03-15"):
        ingest_vector(store, "batiment", BATIMENT, entries, tiles=None, run_id="r2")


def test_dem_tiles_become_seamless_cogs_with_an_index(small_sources, tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    entries, _ = land_files(
        store, "rge_alti", small_sources, "rge_alti/*/*.asc", r"_(\d{4}-\d{2}-\d{2})/"
    )
    source = RasterSource("EPSG:2154", 5.0, -99999.0, "float32")
    report = ingest_raster(store, "mnt", source, entries, tiles=None, run_id="r")
    assert report.merges[0].inserted == 2
    index = current(store.table_uri("mnt", "versions"), store.table_uri("mnt", "closures"))
    assert sorted(index["tile"].to_pylist()) == ["0380_6550", "0390_6550"]
    assert sum(index["valid_cells"].to_pylist()) == 800 * 400  # 4 km × 2 km at 5 m: each once
    for path in index["path"].to_pylist():
        assert (store.root / path).exists()
    again = ingest_raster(store, "mnt", source, entries, tiles=None, run_id="r2")
    assert again.merges == []


def test_an_unchanged_raster_vintage_keeps_its_tiles_and_writes_nothing(small_sources, tmp_path):
    store = Lakehouse.at(tmp_path / "lake")
    entries, _ = land_files(
        store, "rge_alti", small_sources, "rge_alti/*/*.asc", r"_(\d{4}-\d{2}-\d{2})/"
    )
    source = RasterSource("EPSG:2154", 5.0, -99999.0, "float32")
    ingest_raster(store, "mnt", source, entries, tiles=None, run_id="r1")
    # The same grids delivered again as a later edition.
    later = [dataclasses.replace(e, sha256="f" * 64, vintage="2024-01-01") for e in entries]
    report = ingest_raster(store, "mnt", source, later, tiles=None, run_id="r2")
    assert report.merges[0].is_noop and report.merges[0].unchanged == 2
    assert not list((store.silver_dir("mnt") / "cog").glob("*/2024-01-01.tif"))
