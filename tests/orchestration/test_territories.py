"""A user's territory end to end through the CLI alone, as the README shows it: `jnft init`,
`jnft territory add`, a scenario's YAML, `jnft run`, `jnft sql` — on generated deliveries in
the exact BD TOPO 2.x / 3.x Shapefile layouts and on the sample's GeoPackage delivery."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from jnft.assets.simulation import FLOOD_KEY, VOLUME_CHECK
from jnft.lakehouse.database import connect
from jnft.orchestration.cli import main
from tests.products.deliveries import valley_bdtopo2_shp, valley_bdtopo3_shp, valley_dem

pytestmark = pytest.mark.integration

RIVER = """id: crue_projet
title: Crue de projet
description: The flood study's design discharge, entering where the river crosses the edge.
kind: river
river:
  peak_discharge_m3s: {peak}
  time_to_peak_h: 1
  inflow_width_m: 50
duration_h: 3
resolution_m: {resolution}
"""


@pytest.fixture
def user(tmp_path, monkeypatch):
    """A user's shell: a working folder, a fresh Dagster home, no jnft variable set."""
    for name in ("JNFT_PROJECT_DIR", "JNFT_LAKEHOUSE", "JNFT_SOURCES", "JNFT_INBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("JNFT_SERVE", "0")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_territory(user: Path, delivery: Path, monkeypatch, capsys, peak=150, resolution=10):
    """The README's four commands; returns what `territory add` printed."""
    assert main(["init", "projet"]) == 0
    monkeypatch.chdir(user / "projet")
    capsys.readouterr()
    assert main(["territory", "add", str(delivery)]) == 0
    added = capsys.readouterr().out
    Path("scenarios/crue_projet.yaml").write_text(
        RIVER.format(peak=peak, resolution=resolution), encoding="utf-8"
    )
    assert main(["doctor"]) == 0, capsys.readouterr().out
    assert main(["run"]) == 0
    return added


def exposure(user: Path) -> list[tuple]:
    with connect(user / "projet" / "lakehouse" / "lakehouse.duckdb") as con:
        return con.sql(
            "SELECT sum(buildings), sum(dwellings), any_value(dwellings_from) FROM exposure "
            "WHERE scenario = 'crue_projet'"
        ).fetchall()


def volume_conserved(user: Path) -> bool:
    instance = dg.DagsterInstance.get()
    key = dg.AssetCheckKey(FLOOD_KEY, VOLUME_CHECK)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=20)
    return bool(records) and all(r.status.value == "SUCCEEDED" for r in records)


@pytest.mark.parametrize(
    ("deliver", "dwellings_from"),
    [(valley_bdtopo3_shp, "building layer"), (valley_bdtopo2_shp, "estimated: footprint")],
)
def test_a_bdtopo_shapefile_delivery_runs_a_river_scenario(
    user, monkeypatch, capsys, deliver, dwellings_from
):
    delivery = user / "livraison"
    valley_dem(delivery)
    deliver(delivery)
    added = run_territory(user, delivery, monkeypatch, capsys)
    assert "Role buildings:" in added and "Role terrain:" in added
    ((buildings, dwellings, source),) = exposure(user)
    assert buildings and 0 < buildings < 12  # the floor's buildings, not the sides'
    assert source.startswith(dwellings_from) and dwellings is not None
    assert volume_conserved(user)
    capsys.readouterr()
    assert main(["sql", "SELECT scenario, sum(buildings) AS b FROM exposure GROUP BY 1"]) == 0
    assert "crue_projet" in capsys.readouterr().out


def test_the_sample_geopackage_delivery_runs_a_river_scenario(
    user, monkeypatch, capsys, small_sources
):
    delivery = user / "livraison"
    for product in ("bdtopo", "rge_alti", "admin_express", "insee", "filosofi"):
        shutil.copytree(small_sources / product, delivery / product)
    added = run_territory(user, delivery, monkeypatch, capsys, peak=400, resolution=25)
    assert "BD TOPO 3 (GeoPackage)" in added
    ((buildings, _, source),) = exposure(user)
    assert buildings and source == "building layer"
    assert volume_conserved(user)


def test_a_territory_without_tiled_concepts_runs(user, monkeypatch, small_sources):
    """Tiles declared, but only a table to land: no empty run, no crash."""
    delivery = user / "livraison"
    shutil.copytree(small_sources / "insee", delivery / "insee")
    assert main(["init", "projet"]) == 0
    monkeypatch.chdir(user / "projet")
    assert main(["territory", "add", str(delivery)]) == 0
    (delivery / "territory.yaml").write_text("tiles: ['0380_6550']\n", encoding="utf-8")
    assert main(["run"]) == 0
    with connect(user / "projet" / "lakehouse" / "lakehouse.duckdb") as con:
        assert con.sql("SELECT count(*) FROM population_communale").fetchone()[0] > 0
