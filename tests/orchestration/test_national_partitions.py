"""Dagster at France's partition counts: the 10 km tiles of metropolitan France (more than
5,500) × scenarios registered on an instance, and a backfill of every asset on them submitted
through `launch_backfill` in seconds, not minutes; the tiled layers backfill in batches."""

import math
import time

import dagster as dg
import pytest

from jnft.assets.factory import LAYER_TILES_PER_RUN, silver_key
from jnft.assets.simulation import FLOOD_KEY
from jnft.orchestration.backfill import launch_backfill
from jnft.orchestration.definitions import defs
from jnft.orchestration.partitions import register_tiles, tiles_partitions
from jnft.quality.fiche import load_fiches
from jnft.tiles import tiles_covering
from tests.factories import CONCEPTS_DIR

# Metropolitan France's extent in Lambert-93 (Corsica included), on the 10 km grid.
FRANCE_BBOX = (100_000.0, 6_040_000.0, 1_250_000.0, 7_120_000.0)
SCENARIOS = ["crue_q100", "crue_q1000", "submersion_tempete_slr60"]
# Generous for 2 shared cores; the point is seconds, not the minutes a per-key loop would take.
MAX_SECONDS = 60.0


@pytest.fixture(scope="module")
def national_tiles() -> list[str]:
    tiles = tiles_covering(FRANCE_BBOX)
    assert len(tiles) > 5_500  # France's land tiles; the bbox holds sea and neighbours too
    return tiles


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A SQLite-backed instance in a fresh DAGSTER_HOME, as `make demo` uses."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("")
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_national_tiles_register_in_seconds(instance, national_tiles):
    started = time.perf_counter()
    added = register_tiles(instance, national_tiles)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = register_tiles(instance, national_tiles)  # a sensor's tick re-registering them
    second = time.perf_counter() - started
    print(
        f"{len(national_tiles)} tiles registered in {first:.2f} s, re-registered in {second:.2f} s"
    )
    assert added == national_tiles and again == []
    assert len(instance.get_dynamic_partitions(tiles_partitions.name)) == len(national_tiles)
    assert first < MAX_SECONDS and second < MAX_SECONDS


def test_a_national_backfill_is_submitted_in_seconds(instance, national_tiles):
    started = time.perf_counter()
    backfill_id = launch_backfill(instance, defs, national_tiles, SCENARIOS)
    elapsed = time.perf_counter() - started
    backfill = instance.get_backfill(backfill_id)
    assert backfill is not None
    target = backfill.asset_backfill_data.target_subset
    floods = target.get_partitions_subset(FLOOD_KEY)
    tiled = [f.id for f in load_fiches(CONCEPTS_DIR) if f.tiled]
    print(
        f"backfill of {len(national_tiles)} tiles × {len(SCENARIOS)} scenarios "
        f"({len(floods)} flood partitions, {len(tiled)} tiled layers) submitted in {elapsed:.2f} s"
    )
    assert len(floods) == len(national_tiles) * len(SCENARIOS)
    for concept in tiled:
        assert len(target.get_partitions_subset(silver_key(concept))) == len(national_tiles)
    assert elapsed < MAX_SECONDS


def test_tiled_layers_backfill_in_batches_floods_one_partition_a_run(national_tiles):
    graph = defs.resolve_asset_graph()
    tiled = [f.id for f in load_fiches(CONCEPTS_DIR) if f.tiled]
    assert tiled
    for concept in tiled:
        policy = graph.get(silver_key(concept)).backfill_policy
        assert policy == dg.BackfillPolicy.multi_run(LAYER_TILES_PER_RUN), concept
    # A flood partition is minutes of work on its own: one per run, many runs in parallel.
    assert graph.get(FLOOD_KEY).backfill_policy in (None, dg.BackfillPolicy.multi_run(1))
    runs = math.ceil(len(national_tiles) / LAYER_TILES_PER_RUN)
    print(f"a national layer backfills in {runs} runs of {LAYER_TILES_PER_RUN} tiles")
