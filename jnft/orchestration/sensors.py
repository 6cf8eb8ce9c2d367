"""Sensors: register the tiles a territory declares as `tiles` partitions; route deliveries
dropped in the inbox to the concepts and tiles they feed."""

from collections.abc import Sequence

import dagster as dg

from jnft.assets.factory import bronze_key, silver_key
from jnft.orchestration.inbox import Delivery, move_to_sources, route, settled_files
from jnft.orchestration.partitions import (
    declared_scenarios,
    scenarios_partitions,
    territory_tiles,
    tiles_partitions,
)
from jnft.orchestration.resources import LakehouseResource
from jnft.quality.fiche import Fiche
from jnft.settings import load_settings

INBOX_SETTLE_SECONDS = 5.0  # a file younger than this may still be being copied


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds the tiles of `<sources>/territory.yaml` to the `tiles` partitions.",
)
def territory_tiles_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SensorResult | dg.SkipReason:
    declared = territory_tiles(lakehouse.sources_dir)
    assert tiles_partitions.name is not None  # defined by name
    known = set(context.instance.get_dynamic_partitions(tiles_partitions.name))
    new = [t for t in declared if t not in known]
    if not new:
        return dg.SkipReason(f"{len(declared)} declared tiles already registered")
    return dg.SensorResult(dynamic_partitions_requests=[tiles_partitions.build_add_request(new)])


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds the scenarios of `scenarios/*.yaml` to the `scenarios` partitions.",
)
def scenarios_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    declared = declared_scenarios(load_settings().scenarios)
    assert scenarios_partitions.name is not None  # defined by name
    known = set(context.instance.get_dynamic_partitions(scenarios_partitions.name))
    new = [s for s in declared if s not in known]
    if not new:
        return dg.SkipReason(f"{len(declared)} declared scenarios already registered")
    return dg.SensorResult(
        dynamic_partitions_requests=[scenarios_partitions.build_add_request(new)]
    )


def build_inbox_sensor(
    fiches: Sequence[Fiche], settle_seconds: float = INBOX_SETTLE_SECONDS
) -> dg.SensorDefinition:
    """Watch the inbox; each settled file a fiche matches is moved to the sources folder and
    its concepts are materialized for the tiles it touches (new tiles are registered)."""

    @dg.sensor(
        name="inbox_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Routes files dropped in the inbox (`JNFT_INBOX`, laid out like the sources "
        "folder) to the matching concept and tiles: lands them in bronze and merges them.",
    )
    def inbox_sensor(
        context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        inbox = lakehouse.inbox_dir
        if not inbox.exists():
            return dg.SkipReason(f"no inbox folder at {inbox}")
        assert tiles_partitions.name is not None  # defined by name
        known = set(context.instance.get_dynamic_partitions(tiles_partitions.name))
        requests, new_tiles, unmatched = [], set(), []
        for path in settled_files(inbox, settle_seconds):
            delivery = route(path, inbox, list(fiches))
            if delivery is None:
                unmatched.append(path.relative_to(inbox).as_posix())
                continue
            move_to_sources(path, inbox, lakehouse.sources_dir)
            context.log.info(f"inbox: {delivery.relative_path} -> {delivery.source}")
            requests += _requests(delivery, known)
            new_tiles |= set(delivery.tiles or ()) - known
        if unmatched:
            context.log.warning(f"inbox: no fiche matches {unmatched}; left in place")
        if not requests:
            return dg.SkipReason(
                f"nothing new in {inbox}" + (f" ({len(unmatched)} unmatched)" if unmatched else "")
            )
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[tiles_partitions.build_add_request(sorted(new_tiles))]
            if new_tiles
            else [],
        )

    return inbox_sensor


def _requests(delivery: Delivery, known: set[str]) -> list[dg.RunRequest]:
    """One run for the untiled concepts, one per tile for the tiled ones."""
    source = bronze_key(delivery.source)
    untiled = [silver_key(f.id) for f in delivery.fiches if not f.tiled]
    tiled = [silver_key(f.id) for f in delivery.fiches if f.tiled]
    # A file whose header tells nothing may touch any tile: every registered one is run.
    tiles = delivery.tiles if delivery.tiles is not None else sorted(known)
    runs = ([(None, untiled)] if untiled else []) + ([(t, tiled) for t in tiles] if tiled else [])
    return [
        dg.RunRequest(
            run_key=":".join([delivery.sha256, delivery.relative_path] + ([tile] if tile else [])),
            asset_selection=[source, *keys],
            partition_key=tile,
            tags={"jnft/delivery": delivery.relative_path[:63]},
        )
        for tile, keys in runs
    ]
