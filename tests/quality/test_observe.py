import pyarrow as pa
import shapely
from deltalake import DeltaTable, write_deltalake

from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from tests.factories import CONCEPTS_DIR

BATIMENT = load_fiche(CONCEPTS_DIR / "batiment.yaml")
MNT = load_fiche(CONCEPTS_DIR / "mnt.yaml")


def lake(small_sources, tmp_path, fiche):
    store = Lakehouse.at(tmp_path / "lake")
    land_files(
        store, fiche.source.name, small_sources, fiche.source.pattern, fiche.source.vintage_pattern
    )
    kind_of(fiche).land(store, fiche, Scope(None, "run"))
    return store


def test_observation_of_an_ingested_layer(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    obs = observe(store, BATIMENT, ["0390_6550"])
    assert obs.rows > 0 and obs.tiles == ["0390_6550"]
    assert obs.vintages == ["2023-03-15", "2025-03-15"]
    assert obs.geometry_types == ["MultiPolygon"]  # BD TOPO's Z dropped
    assert obs.source_files and obs.source_files <= obs.bronze_files
    assert all(e.success for e in obs.expectations)
    assert {e.column for e in obs.expectations} == {
        "cleabs",
        "usage_1",
        "hauteur",
        "feature_id",
        "geometry_is_valid",
        "nombre_de_logements",
        "nombre_d_etages",
    }


def test_defects_written_behind_the_ingestion_show_up(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, BATIMENT)
    uri = store.table_uri("batiment", "versions")
    existing = DeltaTable(uri).to_pyarrow_table()
    row = existing.slice(0, 1).to_pylist()[0]  # the same feature, open twice
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    row.update(hauteur=9999.0, geometry=shapely.to_wkb(shapely.MultiPolygon([bowtie])))
    write_deltalake(uri, pa.Table.from_pylist([row], schema=existing.schema), mode="append")
    failed = {
        (e.expectation, e.column): e.unexpected_count
        for e in observe(store, BATIMENT, None).expectations
        if not e.success
    }
    assert failed == {
        ("expect_column_values_to_be_unique", "feature_id"): 2,
        ("expect_column_values_to_be_in_set", "geometry_is_valid"): 1,
        ("expect_column_values_to_be_between", "hauteur"): 1,
    }


def test_raster_observation_reads_the_index_and_the_cogs(small_sources, tmp_path):
    store = lake(small_sources, tmp_path, MNT)
    obs = observe(store, MNT, None)
    assert obs.resolutions == [5.0] and obs.crs == ["EPSG:2154"] and obs.cog_problems == []
    assert [(e.column, e.success) for e in obs.expectations if "between" in e.expectation] == [
        ("minimum", True),
        ("maximum", True),
    ]


def test_files_rejected_whole_are_observed_with_their_criterion_and_reason(tmp_path):
    folder = tmp_path / "sources" / "rge_alti" / "RGEALTI_2024-01-01"
    folder.mkdir(parents=True)
    (folder / "RGEALTI_0390_6550.asc").write_text("ncols 2\nnrows 2\n")
    store = Lakehouse.at(tmp_path / "lake")
    source = MNT.source
    land_files(store, source.name, tmp_path / "sources", source.pattern, source.vintage_pattern)
    kind_of(MNT).land(store, MNT, Scope(None, "run"))
    obs = observe(store, MNT, None)
    assert obs.rejections == [
        "c10_standard: rge_alti/RGEALTI_2024-01-01/RGEALTI_0390_6550.asc: "
        "0 rows of values where nrows is 2"
    ]
