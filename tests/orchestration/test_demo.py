"""A full materialization of the small territory, in-process, as the demo does it."""

import base64

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
import pytest

from jnft.assets.simulation import FLOOD_KEY, VOLUME_CHECK
from jnft.lakehouse.database import connect
from jnft.lakehouse.store import Lakehouse
from jnft.orchestration.definitions import defs
from jnft.orchestration.partitions import register_tiles
from jnft.orchestration.resources import LakehouseResource
from jnft.quality.fiche import load_fiches
from tests.factories import (
    CONCEPTS_DIR,
    PROJECT_DIR,
    SQL_DIR,
    materialize_sample,
)
from tests.factories import (
    SAMPLE_SCENARIOS as SCENARIOS,
)

FICHES = load_fiches(CONCEPTS_DIR)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def materialized(small_sources, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    instance, results = materialize_sample(small_sources, root)
    return instance, Lakehouse.at(root), results


def test_every_asset_and_partition_is_materialized(materialized):
    instance, _, results = materialized
    assert all(r.success for r in results)
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        assert instance.get_latest_materialization_event(key) is not None, key
    partitions = instance.get_materialized_partitions(dg.AssetKey(["silver", "batiment"]))
    assert partitions == {"0380_6550", "0390_6550"}


def test_layer_metadata_is_what_the_ui_shows(materialized):
    instance, _, _ = materialized
    event = instance.get_latest_materialization_event(dg.AssetKey(["silver", "batiment"]))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value > 0
    assert metadata["crs"].value == "EPSG:2154"
    xmin, ymin, xmax, ymax = metadata["bbox"].value
    assert 388_000 <= xmin < xmax <= 392_000 and 6_544_000 <= ymin < ymax <= 6_546_000
    assert metadata["delta_version"].value >= 0
    names = [c.name for c in metadata["dagster/column_schema"].value.columns]
    assert {"feature_id", "cleabs", "geometry", "tile", "valid_from", "row_hash"} <= set(names)
    markdown = metadata["preview"].value
    png = base64.b64decode(markdown.split("base64,")[1].rstrip(")"))
    assert png.startswith(b"\x89PNG")
    assert metadata["vintages_merged"].value == ["2023-03-15", "2025-03-15"]


def test_sql_views_history_and_gold(materialized):
    _, store, _ = materialized
    with connect(store.duckdb_path) as con:
        (now,) = con.sql("SELECT count(*) FROM batiment").fetchone()
        (new,) = con.sql(
            "SELECT count(*) FROM (SELECT feature_id FROM batiment EXCEPT "
            "SELECT feature_id FROM asof('batiment', TIMESTAMP '2024-01-01'))"
        ).fetchone()
        (gone,) = con.sql(
            "SELECT count(*) FROM (SELECT feature_id FROM asof('batiment', "
            "TIMESTAMP '2024-01-01') EXCEPT SELECT feature_id FROM batiment)"
        ).fetchone()
        assert now > 0 and new > 0 and gone > 0
        (inside,) = con.sql(
            "SELECT count(*) FROM batiment b JOIN commune c "
            "ON ST_Intersects(b.geometry, c.geometry)"
        ).fetchone()
        assert inside >= now * 0.95
        assert con.sql("SELECT count(*) FROM mnt_cog").fetchone() == (2,)
    gold = pq.read_table(store.gold_path("batiment"))
    assert gold.num_rows == now and b"geo" in gold.schema.metadata


def test_every_delta_table_is_readable_by_duckdb_delta_scan(materialized):
    _, store, _ = materialized
    tables = sorted(p.parent for p in store.root.rglob("_delta_log"))
    assert len(tables) >= len(FICHES) * 3  # history (or observations), log, quarantine
    with connect() as con:
        for table in tables:
            con.sql(f"SELECT count(*) FROM delta_scan('{table}')").fetchone()


@pytest.mark.parametrize(
    "example", sorted((PROJECT_DIR / "sql" / "examples").glob("*.sql")), ids=lambda p: p.stem
)
def test_sql_examples_run_on_the_territory(materialized, example):
    _, store, _ = materialized
    with connect(store.duckdb_path) as con:
        rows = con.sql(example.read_text(encoding="utf-8")).fetchall()
    assert rows, f"{example.name} returned nothing on the sample territory"


def test_every_check_passes_on_the_sample_territory(materialized):
    """The 10 criteria of every concept, and every flood run's volume balance."""
    instance, _, _ = materialized
    graph = defs.resolve_asset_graph()
    checks = list(graph.asset_check_keys)
    assert len(checks) == len(FICHES) * 10 + 1
    assert dg.AssetCheckKey(FLOOD_KEY, VOLUME_CHECK) in checks
    for key in checks:
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        assert records, key
        assert all(r.status.value == "SUCCEEDED" for r in records), key


def test_every_kind_of_source_reaches_sql(materialized):
    """LiDAR products, gauge and tide series, legal populations: queryable like the layers."""
    _, store, _ = materialized
    with connect(store.duckdb_path) as con:
        products = con.sql(
            "SELECT product, point_count, density FROM nuage_lidar_cog ORDER BY product"
        ).fetchall()
        variables = dict(
            con.sql("SELECT variable, count(*) FROM hydrometrie GROUP BY 1").fetchall()
        )
        (sea_min, sea_max) = con.sql(
            "SELECT min(value), max(value) FROM maregraphe WHERE variable = 'niveau_mer'"
        ).fetchone()
        joined = con.sql(
            "SELECT count(*) FROM commune JOIN population_communale USING (insee_com)"
        ).fetchone()
    assert [p[0] for p in products] == ["mns", "mnt"] and products[0][1] > 0
    assert {"H", "Q", "QmnJ", "Q_tarage"} <= set(variables)
    assert variables["Q_tarage"] == variables["H"]  # every stage has its rated discharge
    # Heights above chart datum (0.9..6.6 m ZH) are stored in NGF-IGN69 (ZH = NGF − 3.20 m).
    assert -3.0 < sea_min < 0 < sea_max < 4.0
    assert joined == (4,)


def test_floods_are_mapped_and_their_exposure_is_queryable(materialized):
    instance, store, _ = materialized
    partitions = instance.get_materialized_partitions(dg.AssetKey(["simulation", "flood"]))
    assert len(partitions) == len(SCENARIOS) * 2
    key = dg.MultiPartitionKey({"scenario": "crue_q100", "tile": "0390_6550"})
    event = instance.get_latest_materialization_event(dg.AssetKey(["simulation", "flood"]))
    assert event is not None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["simulation", "flood"]),
                              asset_partitions=[str(key)]), limit=1,
    ).records  # fmt: skip
    metadata = records[0].asset_materialization.metadata
    assert metadata["design_event"].value["peak_discharge_m3s"] > 0
    assert abs(metadata["volume_error"].value) < 1e-3
    assert metadata["preview"].value.startswith("![max depth](data:image/png;base64,")
    assert "| commune | depth (m) |" in metadata["exposure"].value
    with connect(store.duckdb_path) as con:
        totals = dict(con.sql(
            "SELECT scenario, sum(buildings) FROM exposure GROUP BY ALL"
        ).fetchall())  # fmt: skip
        maps = con.sql("SELECT count(*) FROM flood_maps WHERE product = 'max_depth'").fetchone()
    assert totals["crue_q1000"] >= totals["crue_q100"] > 0
    assert maps == (len(SCENARIOS) * 2,)


def test_the_tiles_mosaic_is_the_whole_domain_run(materialized):
    """Each tile ran on the flood's connected domain: the mosaic of the tiles' max depth
    matches one run over the whole territory (|Δ| ≤ 5 cm on 99.9 % of cells)."""
    import numpy as np
    import rasterio

    from jnft.assets.simulation import gather_inputs
    from jnft.simulation.flood import run_domain
    from jnft.simulation.plan import plan_scenario
    from jnft.simulation.run import terrain_grid
    from jnft.simulation.scenario import load_scenario

    _, store, _ = materialized
    for name in ("crue_q100", "submersion_tempete_slr60"):
        scenario = load_scenario(PROJECT_DIR / "scenarios" / f"{name}.yaml")
        inputs = gather_inputs(store, scenario, FICHES)
        land = terrain_grid(scenario, inputs.terrain, inputs.watercourses)
        plan = plan_scenario(scenario, land.grid, land.dem, land.channel, inputs.series)
        everything = (0, land.grid.rows, 0, land.grid.cols)
        duration = scenario.duration_h * 3600.0
        run = run_domain(plan.z, plan.manning, plan.forcing, everything, land.grid.resolution,
                         duration)  # fmt: skip
        whole = run.max_depth
        mosaic = np.full(whole.shape, np.nan)
        for path in sorted(store.simulation_dir(name).glob("*/max_depth.tif")):
            with rasterio.open(path) as src:
                r0 = round((land.grid.y1 - src.transform.f) / land.grid.resolution)
                c0 = round((src.transform.c - land.grid.x0) / land.grid.resolution)
                mosaic[r0 : r0 + src.height, c0 : c0 + src.width] = src.read(1)
        covered = np.isfinite(mosaic)
        assert covered.all()  # the tiles cover the territory once
        close = np.abs(mosaic[covered] - whole[covered]) <= 0.05
        assert close.mean() >= 0.999, (name, close.mean())


def test_a_refused_delivery_is_reported_in_a_line_and_the_next_runs_go_on(small_sources, tmp_path):
    """A delivery refused by a blocking check is one line naming the layer, the tile and the
    check's reason (no traceback), the run goes on, and SQL shows the staged delivery."""
    import shutil

    from jnft.assets.database import view_substitutions
    from jnft.assets.factory import build_concept_assets
    from jnft.lakehouse.database import build_database, render_sql
    from jnft.orchestration.demo import problems_of
    from jnft.orchestration.partitions import tiles_partitions
    from tests.fixtures.broken_layers import write_broken

    sources = tmp_path / "sources"
    shutil.copytree(small_sources / "bdtopo", sources / "bdtopo")
    write_broken(small_sources, "outside_extent", sources)
    fiche = next(f for f in FICHES if f.id == "batiment")
    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, ["0390_6550"])
    resource = LakehouseResource(root=str(tmp_path / "lake"), sources=str(sources))
    result = dg.materialize(
        build_concept_assets([fiche], tiles_partitions),
        selection=[dg.AssetKey(["bronze", "bdtopo"]), dg.AssetKey(["silver", "batiment"])],
        partition_key="0390_6550",
        instance=instance,
        resources={"lakehouse": resource},
        raise_on_error=False,
    )
    (line,) = problems_of(result)
    assert line.startswith("silver/batiment tile 0390_6550: kept staged, not published — ")
    assert "c06_extent: " in line and "Traceback" not in line
    store = resource.store()
    scripts = render_sql(SQL_DIR, view_substitutions(store, [fiche]), {"root": str(store.root)})
    with connect(build_database(store.duckdb_path, scripts)) as con:
        staged = con.sql("SELECT vintage, reasons FROM batiment_staged").fetchall()
    assert staged and all("c06_extent" in str(reasons) for _, reasons in staged)


def test_the_demo_runs_on_an_s3_lakehouse_and_jnft_sql_reads_it_elsewhere(
    small_sources, s3, tmp_path, monkeypatch, capsys
):
    """`JNFT_LAKEHOUSE=s3://…`: the whole demo on a real S3 server (SeaweedFS), nothing left
    in a local folder named `s3:`; then `jnft sql` from another working copy reads it all."""
    from jnft.orchestration.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JNFT_PROJECT_DIR", raising=False)
    monkeypatch.setenv("JNFT_LAKEHOUSE", f"s3://{s3['JNFT_TEST_BUCKET']}/demo")
    monkeypatch.setenv("JNFT_SOURCES", str(small_sources))
    monkeypatch.setenv("JNFT_LAKEHOUSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("JNFT_SERVE", "0")
    assert main(["demo"]) == 0
    assert not (tmp_path / "s3:").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("JNFT_LAKEHOUSE_CACHE", str(elsewhere / "cache"))
    capsys.readouterr()
    query = (
        "SELECT (SELECT count(*) FROM batiment), (SELECT count(*) FROM mnt_cog), "
        "(SELECT count(*) FROM flood_maps), (SELECT sum(buildings) FROM exposure), "
        "(SELECT min(href) FROM flood_maps)"
    )
    assert main(["sql", "--csv", query]) == 0
    buildings, cogs, maps, exposed, href = capsys.readouterr().out.splitlines()[1].split(",")
    assert int(buildings) > 0 and int(cogs) > 0 and int(maps) > 0 and int(exposed) > 0
    assert href.startswith("s3://jnft/demo/gold/simulation/")
    # What `jnft sql` read from the bucket is the database file (and its ETag note): the
    # tables' data stays there, read by DuckDB over s3://.
    fetched = {
        p.relative_to(elsewhere / "cache").as_posix()
        for p in (elsewhere / "cache").rglob("*")
        if p.is_file()
    }
    assert fetched == {"jnft/demo/lakehouse.duckdb", "jnft/demo/.etags/lakehouse.duckdb"}


def test_jnft_screen_screens_the_lakehouse_s_terrain(materialized, monkeypatch, capsys):
    """With no DEM named, `jnft screen` screens the mosaic of the terrain's current COG tiles
    into the lakehouse (gold/screening/)."""
    import rasterio

    from jnft.orchestration.cli import main
    from jnft.simulation.screening import accumulation, drainage, hand

    _, store, _ = materialized
    monkeypatch.setenv("JNFT_LAKEHOUSE", str(store.root))
    assert main(["screen", "--workers", "1", "--tile", "512"]) == 0
    assert str(store.root / "gold" / "screening" / "hand.vrt") in capsys.readouterr().out
    folder = store.root / "gold" / "screening"
    with rasterio.open(folder / "dem.vrt") as dem, rasterio.open(folder / "hand.vrt") as out:
        assert out.shape == dem.shape and out.transform == dem.transform
        z = dem.read(1, masked=True).filled(np.nan).astype(np.float64)
        ours, cell = out.read(1), dem.res[0]
    flow = drainage(z)  # the in-memory screening of the same mosaic, 1 km² streams
    streams = np.where(np.isfinite(z), accumulation(flow) * cell**2 / 1e6, 0.0) >= 1.0
    assert streams.any()
    assert np.array_equal(ours, hand(flow, streams).astype(np.float32), equal_nan=True)
