import dagster as dg
import pyarrow as pa

from jnft.assets.simulation import blocked_by, exposure_markdown, volume_check
from jnft.quality.fiche import load_fiche
from jnft.simulation.exposure import EQUIPMENT_SCHEMA, EXPOSURE_SCHEMA
from jnft.simulation.run import TileFlood
from tests.factories import CONCEPTS_DIR


def test_a_failed_blocking_check_upstream_gates_the_floods():
    fiche = load_fiche(CONCEPTS_DIR / "mnt.yaml")

    @dg.asset(
        key=["silver", "mnt"],
        check_specs=[dg.AssetCheckSpec("c06_extent", asset=["silver", "mnt"])],
    )
    def mnt():
        yield dg.MaterializeResult(
            check_results=[dg.AssetCheckResult(check_name="c06_extent", passed=False)]
        )

    instance = dg.DagsterInstance.ephemeral()
    assert blocked_by(instance, [fiche]) == []
    dg.materialize([mnt], instance=instance, raise_on_error=False)
    assert blocked_by(instance, [fiche]) == ["mnt.c06_extent"]


def test_the_exposure_table_reads_in_the_ui():
    exposure = pa.Table.from_pylist(
        [{"scenario": "s", "tile": "t", "insee_com": "17950", "commune": "Port-des-Jumeaux",
          "depth_class": "0.5-1", "buildings": 3, "dwellings": 5, "residents": 10.4}],
        schema=EXPOSURE_SCHEMA,
    )  # fmt: skip
    text = exposure_markdown(exposure, EQUIPMENT_SCHEMA.empty_table())
    assert "| Port-des-Jumeaux | 0.5-1 | 3 | 5 | 10 |" in text
    assert exposure_markdown(EXPOSURE_SCHEMA.empty_table(), EQUIPMENT_SCHEMA.empty_table()) == (
        "Nothing exposed."
    )


def test_a_run_losing_water_fails_its_volume_check():
    def run(figures):
        empty = EXPOSURE_SCHEMA.empty_table()
        return TileFlood("s", "t", {}, None, figures, {}, empty, EQUIPMENT_SCHEMA.empty_table(), 0)

    assert volume_check(run({"volume_error": 1e-12})).passed
    assert not volume_check(run({"volume_error": -0.002})).passed
    assert volume_check(run({"domain_cells": 0})).passed  # a dry tile
