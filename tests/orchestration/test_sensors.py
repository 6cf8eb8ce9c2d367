import os
import shutil
import time

import dagster as dg
import pytest

from jnft.orchestration.definitions import defs
from jnft.orchestration.partitions import register_tiles
from jnft.orchestration.resources import LakehouseResource
from jnft.orchestration.sensors import build_inbox_sensor, territory_tiles_sensor
from jnft.quality.fiche import load_fiches
from tests.factories import CONCEPTS_DIR

fiches = load_fiches(CONCEPTS_DIR)


def test_tile_sensor_registers_declared_tiles(small_sources):
    instance = dg.DagsterInstance.ephemeral()
    resource = LakehouseResource(root=str(small_sources / "lake"), sources=str(small_sources))
    context = dg.build_sensor_context(instance=instance, resources={"lakehouse": resource})
    result = territory_tiles_sensor(context)
    requests = result.dynamic_partitions_requests
    assert requests[0].partition_keys == ["0380_6550", "0390_6550"]


@pytest.fixture
def inbox(tmp_path):
    folders = {name: tmp_path / name for name in ("inbox", "sources", "lake")}
    for folder in folders.values():
        folder.mkdir()
    resource = LakehouseResource(
        root=str(folders["lake"]), sources=str(folders["sources"]), inbox=str(folders["inbox"])
    )
    return folders, resource


def drop(small_sources, inbox_dir, pattern):
    """Copy a sample delivery into the inbox, dated in the past so that it counts as settled."""
    for path in small_sources.glob(pattern):
        target = inbox_dir / path.relative_to(small_sources)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
        os.utime(target, (time.time() - 60, time.time() - 60))
    return target


def evaluate(resource, instance):
    context = dg.build_sensor_context(instance=instance, resources={"lakehouse": resource})
    return build_inbox_sensor(fiches)(context)


def test_a_lidar_tile_in_the_inbox_runs_its_concept_and_tile(small_sources, inbox):
    folders, resource = inbox
    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, ["0380_6550"])
    laz = drop(small_sources, folders["inbox"], "lidar_hd/*/*.laz")
    result = evaluate(resource, instance)
    (request,) = result.run_requests
    assert request.partition_key == "0390_6550"
    assert set(request.asset_selection) == {
        dg.AssetKey(["bronze", "lidar_hd"]),
        dg.AssetKey(["silver", "nuage_lidar"]),
    }
    assert result.dynamic_partitions_requests[0].partition_keys == ["0390_6550"]
    assert not laz.exists()
    assert (folders["sources"] / laz.relative_to(folders["inbox"])).exists()
    assert isinstance(evaluate(resource, instance), dg.SkipReason)  # moved: seen once


def test_a_shapefile_travels_with_its_sidecars_to_an_untiled_concept(small_sources, inbox):
    folders, resource = inbox
    drop(small_sources, folders["inbox"], "admin_express/*/COMMUNE.*")
    result = evaluate(resource, dg.DagsterInstance.ephemeral())
    (request,) = result.run_requests
    assert request.partition_key is None
    assert dg.AssetKey(["silver", "commune"]) in request.asset_selection
    moved = sorted(p.suffix for p in folders["sources"].rglob("COMMUNE.*"))
    assert moved == [".cpg", ".dbf", ".prj", ".shp", ".shx"]


def test_files_being_copied_or_unknown_are_left_alone(small_sources, inbox):
    folders, resource = inbox
    fresh = folders["inbox"] / "refmar" / "port_2026.txt"
    fresh.parent.mkdir()
    fresh.write_text("Date;Valeur\n")  # just written: may still be growing
    stray = folders["inbox"] / "notes.txt"
    stray.write_text("hello")
    os.utime(stray, (time.time() - 60, time.time() - 60))
    result = evaluate(resource, dg.DagsterInstance.ephemeral())
    assert isinstance(result, dg.SkipReason) and "1 unmatched" in result.skip_message
    assert fresh.exists() and stray.exists()


def test_the_inbox_sensor_is_part_of_the_code_location():
    assert {s.name for s in defs.sensors} == {
        "territory_tiles_sensor",
        "scenarios_sensor",
        "inbox_sensor",
    }


def test_scenarios_sensor_registers_the_scenario_files():
    from jnft.orchestration.sensors import scenarios_sensor

    instance = dg.DagsterInstance.ephemeral()
    result = scenarios_sensor(dg.build_sensor_context(instance=instance))
    keys = result.dynamic_partitions_requests[0].partition_keys
    assert {"crue_q100", "crue_q1000", "submersion_tempete_slr60"} <= set(keys)
