import dataclasses
import datetime as dt

import pytest
from deltalake import DeltaTable

from jnft.ingest.bronze import land_files
from jnft.ingest.raster import RasterSource, ingest_raster
from jnft.ingest.vector import LayerSpec, VectorSource, ingest_vector
from jnft.lakehouse.history import current, history
from jnft.lakehouse.store import Lakehouse

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


# Bad input: each file names its problem, lands in quarantine, and the other files of the run
# still ingest; nothing already in the lakehouse changes because of it.


def _quarantined_files(store, concept):
    import polars as pl

    table = pl.read_delta(store.table_uri(concept, "quarantine"))
    return table.filter(pl.col("level") == "file").select("source_name", "reason", "criterion")


def _deliver(folder, name, content: bytes | None = None, source=None):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        path.write_bytes(source.read_bytes())
    else:
        path.write_bytes(content or b"")
    return path


def test_an_incomplete_delivery_closes_nothing_it_does_not_show(small_sources, tmp_path):
    """Vintage 2025 comes as two files, one empty: the other file's buildings are merged, the
    buildings the broken file held stay current (unknown is not demolished)."""
    import geopandas as gpd

    store = Lakehouse.at(tmp_path / "lake")
    sources = tmp_path / "src"
    old = gpd.read_file(next(small_sources.glob("bdtopo/*2023-03-15/*.gpkg")), layer="batiment")
    new = gpd.read_file(next(small_sources.glob("bdtopo/*2025-03-15/*.gpkg")), layer="batiment")
    middle = old.total_bounds[[0, 2]].mean()
    for vintage, frame in (("2023-03-15", old), ("2025-03-15", new)):
        west = frame[frame.geometry.centroid.x < middle]
        east = frame[frame.geometry.centroid.x >= middle]
        folder = sources / "bdtopo" / f"BDTOPO_{vintage}"
        folder.mkdir(parents=True)
        west.to_file(folder / f"west_{vintage}.gpkg", layer="batiment")
        if vintage == "2023-03-15":
            east.to_file(folder / f"east_{vintage}.gpkg", layer="batiment")
        else:
            (folder / f"east_{vintage}.gpkg").write_bytes(b"")
    entries, _ = land_files(store, "bdtopo", sources, "bdtopo/*/*.gpkg", VINTAGE)
    report = ingest_vector(store, "batiment", BATIMENT, entries, tiles=None, run_id="r")
    assert report.incomplete_vintages == ["2025-03-15"]
    (problem,) = report.rejected_files
    assert problem.startswith("bdtopo/BDTOPO_2025-03-15/east_2025-03-15.gpkg: not a readable GPKG")
    now = set(current(*tables(store))["cleabs"].to_pylist())
    east_2023 = set(old[old.geometry.centroid.x >= middle]["cleabs"])
    west_2025 = set(new[new.geometry.centroid.x < middle]["cleabs"])
    assert east_2023 <= now and west_2025 <= now
    files = _quarantined_files(store, "batiment")
    assert files["source_name"].to_list() == ["bdtopo/BDTOPO_2025-03-15/east_2025-03-15.gpkg"]


def test_archives_are_read_and_unsafe_ones_refused(small_sources, tmp_path):
    import zipfile

    import pyogrio

    store = Lakehouse.at(tmp_path / "lake")
    sources = tmp_path / "src" / "bdtopo" / "BDTOPO_2025-03-15"
    sources.mkdir(parents=True)
    frame = pyogrio.read_dataframe(
        next(small_sources.glob("bdtopo/*2025-03-15/*.gpkg")), layer="batiment"
    )
    shp = tmp_path / "BATIMENT.shp"
    pyogrio.write_dataframe(frame, shp, encoding="UTF-8")
    with zipfile.ZipFile(sources / "good_2025-03-15.zip", "w") as archive:
        for part in tmp_path.glob("BATIMENT.*"):
            archive.write(part, f"BDTOPO/{part.name}")
    with zipfile.ZipFile(sources / "evil_2025-03-15.zip", "w") as archive:
        archive.writestr("../../etc/BATIMENT.shp", b"x")
    spec = dataclasses.replace(
        BATIMENT.spec, columns={"cleabs": "string", "usage_1": "string", "hauteur": "float64"}
    )
    source = VectorSource("ESRI Shapefile", "BATIMENT", "EPSG:2154", spec)
    entries, _ = land_files(
        store, "bdtopo", tmp_path / "src", "bdtopo/*/*.zip", r"_(\d{4}-\d{2}-\d{2})\.zip$"
    )
    report = ingest_vector(store, "batiment", source, entries, tiles=None, run_id="r")
    assert report.merges[0].inserted == len(frame)
    (problem,) = report.rejected_files
    assert "evil_2025-03-15.zip" in problem and "escape the archive folder" in problem


def test_an_unknown_dbf_encoding_is_named_and_a_declared_one_read(tmp_path):
    import geopandas as gpd
    import shapely

    store = Lakehouse.at(tmp_path / "lake")
    folder = tmp_path / "src" / "communes" / "ADMIN_2025-01-01"
    folder.mkdir(parents=True)
    frame = gpd.GeoDataFrame(
        {"code": ["17004", "17005"], "nom": ["Île-d'Aix", "Saint-Émilion"]},
        geometry=[shapely.box(390_000, 6_544_000, 390_500, 6_544_500)] * 2,
        crs=2154,
    )
    frame.to_file(folder / "COMMUNE.shp", encoding="cp1252")
    (folder / "COMMUNE.cpg").unlink()  # the trap: no .cpg, Windows-1252 text
    spec = LayerSpec({"code": "string", "nom": "string"}, {}, "code", [])
    source = VectorSource("ESRI Shapefile", None, "EPSG:2154", spec)
    entries, _ = land_files(
        store, "admin", tmp_path / "src", "communes/*/*.shp", r"_(\d{4}-\d{2}-\d{2})/"
    )
    report = ingest_vector(store, "commune", source, entries, tiles=None, run_id="r1")
    (problem,) = report.rejected_files
    assert "COMMUNE.shp: " in problem and "source.encoding" in problem
    declared = dataclasses.replace(source, encoding="cp1252")
    store2 = Lakehouse.at(tmp_path / "lake2")
    entries, _ = land_files(
        store2, "admin", tmp_path / "src", "communes/*/*.shp", r"_(\d{4}-\d{2}-\d{2})/"
    )
    ingest_vector(store2, "commune", declared, entries, tiles=None, run_id="r2")
    names = current(
        store2.table_uri("commune", "versions"), store2.table_uri("commune", "closures")
    )
    assert sorted(names["nom"].to_pylist()) == ["Saint-Émilion", "Île-d'Aix"]


def test_a_corrupt_geotiff_is_quarantined_and_the_mosaic_goes_on(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    store = Lakehouse.at(tmp_path / "lake")
    folder = tmp_path / "src" / "mnt" / "MNT_2024-01-01"
    folder.mkdir(parents=True)
    for name, x0 in (("a", 380_000), ("b", 385_000)):
        profile = dict(
            driver="GTiff",
            width=1000,
            height=1000,
            count=1,
            dtype="float32",
            crs="EPSG:2154",
            nodata=-99999,
            tiled=True,
            compress="deflate",
            transform=from_origin(x0 - 2.5, 6_550_002.5, 5, 5),
        )
        with rasterio.open(folder / f"{name}.tif", "w", **profile) as dst:
            dst.write(np.random.default_rng(0).uniform(0, 50, (1, 1000, 1000)).astype("float32"))
    broken = folder / "b.tif"
    data = bytearray(broken.read_bytes())
    data[len(data) // 2 :] = b"\x00" * (len(data) - len(data) // 2)
    broken.write_bytes(bytes(data))
    entries, _ = land_files(store, "mnt", tmp_path / "src", "mnt/*/*.tif", r"_(\d{4}-\d{2}-\d{2})/")
    source = RasterSource(None, 5.0, -99999.0, "float32")
    report = ingest_raster(store, "mnt", source, entries, tiles=None, run_id="r")
    (problem,) = report.rejected_files
    assert problem.startswith("mnt/MNT_2024-01-01/b.tif: not a readable raster")
    (row,) = current(
        store.table_uri("mnt", "versions"), store.table_uri("mnt", "closures")
    ).to_pylist()
    assert row["tile"] == "0380_6550" and row["width"] == 1000  # file a only
    assert report.incomplete_vintages == ["2024-01-01"]
