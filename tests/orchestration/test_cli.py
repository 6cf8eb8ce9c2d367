import duckdb

from jnft.orchestration.cli import main


def test_sql_prints_a_query_result(tmp_path, capsys):
    path = tmp_path / "lakehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE VIEW batiment AS SELECT 42 AS n")
    assert main(["sql", "SELECT n FROM batiment", "--database", str(path)]) == 0
    assert "42" in capsys.readouterr().out
    assert main(["sql", "SELECT n * 2 AS d FROM batiment", "--database", str(path), "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "84"


def test_missing_lakehouse_is_a_clear_error(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--database", str(tmp_path / "none.duckdb")]) == 2
    assert "jnft run" in capsys.readouterr().err


def test_sample_writes_a_territory(tmp_path, capsys):
    assert main(["sample", "--small", "--out", str(tmp_path / "src")]) == 0
    assert (tmp_path / "src" / "territory.yaml").exists()
    assert "0380_6550" in capsys.readouterr().out


def test_concepts_list_and_characterize(small_sources, tmp_path, monkeypatch, capsys):
    from jnft.quality.fiche import load_fiche
    from tests.factories import CONCEPTS_DIR
    from tests.quality.test_observe import lake

    store = lake(small_sources, tmp_path, load_fiche(CONCEPTS_DIR / "batiment.yaml"))
    monkeypatch.setenv("JNFT_LAKEHOUSE", str(store.root))
    assert main(["concepts", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["batiment"].endswith("✓" * 10)
    assert "not materialized" in lines["commune"]
    assert main(["concepts", "characterize", "batiment", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "batiment.md").read_text().count("|") > 40


def test_a_point_cloud_product_exports_as_a_pdal_pipeline(capsys):
    import json

    assert main(["concepts", "pipeline", "nuage_lidar", "mnt", "a.laz", "--output", "m.tif"]) == 0
    stages = json.loads(capsys.readouterr().out)["pipeline"]
    assert [s["type"] for s in stages] == ["readers.las", "filters.range", "writers.gdal"]
    assert stages[-1]["filename"] == "m.tif" and stages[-1]["resolution"] == 1.0
    assert main(["concepts", "pipeline", "mnt", "x", "a.laz"]) == 2
    assert "not a point-cloud concept" in capsys.readouterr().err


def test_an_sql_error_is_a_message_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "lakehouse.duckdb"
    duckdb.connect(str(path)).close()
    assert main(["sql", "SELECT * FROM batimnet", "--database", str(path)]) == 2
    err = capsys.readouterr().err
    assert "batimnet" in err and "SHOW TABLES" in err and "Traceback" not in err


def test_backfill_submits_the_territory_and_says_when_no_daemon_runs(tmp_path, monkeypatch, capsys):
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    args = ["backfill", "--tile", "0380_6550", "--scenario", "crue_q100", "--asset", "silver/mnt"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 tile(s) × 1 scenario(s)" in out and "no daemon is running" in out
    with dg.DagsterInstance.get() as instance:
        (backfill,) = instance.get_backfills()
        assert backfill.status.value == "REQUESTED"


def test_screen_runs_a_dem_out_of_core_and_says_where_the_results_are(tmp_path, capsys):
    """`jnft screen` on a DEM of several tiles (a LocalCluster of one worker): the filled DEM
    is the in-memory screening's."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from jnft.simulation.screening import drainage

    rng = np.random.default_rng(1)
    z = np.add.outer(np.arange(96) * 0.05, np.arange(80) * 0.02) + rng.normal(0, 0.4, (96, 80))
    z = z.astype(np.float32)
    dem = tmp_path / "dem.tif"
    profile = dict(driver="GTiff", height=96, width=80, count=1, dtype="float32", nodata=np.nan,
                   crs="EPSG:2154", transform=from_origin(600_000, 6_800_000, 5, 5))  # fmt: skip
    with rasterio.open(dem, "w", **profile) as dst:
        dst.write(z, 1)
    out = tmp_path / "screening"
    command = ["screen", "--dem", str(dem), "--out", str(out), "--tile", "32", "--workers", "1"]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert "9 tile(s)" in printed and f"hand         {out / 'hand.vrt'}" in printed
    with rasterio.open(out / "filled.vrt") as filled:
        assert np.array_equal(filled.read(1), drainage(z).filled.astype(np.float32))


def test_screen_without_a_terrain_in_the_lakehouse_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JNFT_LAKEHOUSE", str(tmp_path / "empty"))
    assert main(["screen"]) == 2
    assert "jnft run" in capsys.readouterr().err


def test_screen_refuses_an_output_folder_it_would_overwrite_in_the_lakehouse(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("JNFT_LAKEHOUSE", str(tmp_path / "lake"))
    dem = tmp_path / "dem.tif"
    assert main(["screen", "--dem", str(dem), "--out", str(tmp_path / "lake" / "silver")]) == 2
    assert "only below" in capsys.readouterr().err
    assert not (tmp_path / "lake" / "silver").exists()
