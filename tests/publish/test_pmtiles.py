"""A gold snapshot becomes a PMTiles archive holding every feature with its attributes;
restricted or empty concepts get no archive, and a stale one is removed."""

from __future__ import annotations

import datetime as dt
import gzip
import math

import mapbox_vector_tile
import numpy as np
import pyarrow as pa
import pyproj
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader, all_tiles

from jnft.lakehouse.store import Lakehouse
from jnft.publish.gold import write_gold
from jnft.publish.pmtiles import MAX_ZOOM, MIN_ZOOM, pmtiles_path, write_pmtiles
from jnft.quality.fiche import Fiche, load_fiches
from jnft.tiles import BBOX_COLUMNS
from tests.factories import CONCEPTS_DIR


@pytest.fixture(scope="module")
def fiche() -> Fiche:
    return next(f for f in load_fiches(CONCEPTS_DIR) if f.id == "batiment")


def restricted(fiche: Fiche) -> Fiche:
    access = fiche.criteria.c07_access.model_copy(update={"modality": "restricted"})
    criteria = fiche.criteria.model_copy(update={"c07_access": access})
    return fiche.model_copy(update={"criteria": criteria})


def buildings(n: int) -> pa.Table:
    """n squares of 12 m in a 1 km square of the sample territory, every third with no
    storey count; run_id is bookkeeping, never in tiles."""
    rng = np.random.default_rng(7)
    x = rng.uniform(385_000, 386_000, n)
    y = rng.uniform(6_545_000, 6_546_000, n)
    boxes = shapely.box(x, y, x + 12, y + 12)
    bbox = dict(zip(BBOX_COLUMNS, shapely.bounds(boxes).T, strict=True)) if n else {}
    return pa.table(
        {
            **{k: pa.array(bbox.get(k, []), pa.float64()) for k in BBOX_COLUMNS},
            "feature_id": pa.array([f"BAT{i:03d}" for i in range(n)], pa.string()),
            "usage_1": pa.array(
                ["Résidentiel" if i % 2 else "Commercial" for i in range(n)], pa.string()
            ),
            "hauteur": np.round(rng.uniform(3, 20, n), 1),
            "nombre_d_etages": pa.array(
                [None if i % 3 == 0 else i % 5 for i in range(n)], pa.int64()
            ),
            "date_creation": pa.array(
                [dt.date(2001, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()
            ),
            "run_id": pa.array(["run-1"] * n, pa.string()),
            "tile": pa.array(["0380_6550"] * n, pa.string()),
            "geometry": pa.array(list(shapely.to_wkb(boxes)), pa.binary()),
        }
    )


def decoded(path) -> dict[tuple[int, int, int], list[dict]]:
    """Every tile of the archive: (z, x, y) -> its features of layer batiment."""
    with path.open("rb") as file:
        source = MmapSource(file)
        assert Reader(source).header()["tile_compression"].name == "GZIP"
        return {
            zxy: mapbox_vector_tile.decode(gzip.decompress(data))["batiment"]["features"]
            for zxy, data in all_tiles(source)
        }


def test_every_feature_and_its_attributes_are_in_the_archive(tmp_path, fiche):
    store = Lakehouse.at(tmp_path / "lake")
    rows = buildings(60)
    write_gold(store, "batiment", rows)
    archive = write_pmtiles(store, fiche)
    assert archive is not None and archive["features"] == 60
    assert (archive["minzoom"], archive["maxzoom"]) == (MIN_ZOOM, MAX_ZOOM)
    tiles = decoded(pmtiles_path(store, "batiment"))
    assert {z for z, _, _ in tiles} == set(range(MIN_ZOOM, MAX_ZOOM + 1))
    # The highest zoom holds every feature (those across tile edges in several tiles).
    by_id = {
        f["properties"]["feature_id"]: f["properties"]
        for (z, _, _), features in tiles.items()
        if z == MAX_ZOOM
        for f in features
    }
    assert len(by_id) == 60
    for expected in rows.drop_columns(["geometry", "run_id"]).to_pylist():
        got = by_id[expected["feature_id"]]
        assert got["usage_1"] == expected["usage_1"]
        assert math.isclose(got["hauteur"], expected["hauteur"], rel_tol=1e-6)
        assert got["date_creation"] == expected["date_creation"].isoformat()
        assert got.get("nombre_d_etages") == expected["nombre_d_etages"]  # no null in tiles
        assert "run_id" not in got
    # The lowest zoom's one tile still draws them (tippecanoe merges sub-pixel polygons).
    (low,) = [features for (z, _, _), features in tiles.items() if z == MIN_ZOOM]
    assert 0 < len(low) <= 60


def test_the_archive_is_in_wgs84_where_the_features_are(tmp_path, fiche):
    store = Lakehouse.at(tmp_path / "lake")
    write_gold(store, "batiment", buildings(10))
    write_pmtiles(store, fiche)
    with pmtiles_path(store, "batiment").open("rb") as file:
        header = Reader(MmapSource(file)).header()
    to_lonlat = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(385_000, 6_545_000, 386_012, 6_546_012)
    bounds = [header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")]
    assert west - 1e-3 <= bounds[0] < bounds[2] <= east + 1e-3
    assert south - 1e-3 <= bounds[1] < bounds[3] <= north + 1e-3


def test_a_restricted_concept_gets_no_archive_and_loses_its_old_one(tmp_path, fiche):
    store = Lakehouse.at(tmp_path / "lake")
    write_gold(store, "batiment", buildings(10))
    assert write_pmtiles(store, fiche) is not None
    assert pmtiles_path(store, "batiment").exists()
    assert write_pmtiles(store, restricted(fiche)) is None
    assert not pmtiles_path(store, "batiment").exists()


def test_no_feature_no_archive_and_leftovers_are_removed(tmp_path, fiche):
    store = Lakehouse.at(tmp_path / "lake")
    write_gold(store, "batiment", buildings(10))
    write_pmtiles(store, fiche)
    leftover = pmtiles_path(store, "batiment").with_name(".batiment.999.pmtiles")
    leftover.write_bytes(b"a writer killed before renaming")
    write_gold(store, "batiment", buildings(0))
    assert write_pmtiles(store, fiche) is None
    assert sorted(p.name for p in store.gold_path("batiment").parent.iterdir()) == [
        "batiment.parquet"
    ]
