"""Sensors: register the tiles a territory declares as `tiles` partitions."""

import dagster as dg

from jnft.orchestration.partitions import territory_tiles, tiles_partitions
from jnft.orchestration.resources import LakehouseResource


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds the tiles of `<sources>/territory.yaml` to the `tiles` partitions.",
)
def territory_tiles_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SensorResult | dg.SkipReason:
    declared = territory_tiles(lakehouse.sources_dir)
    known = set(context.instance.get_dynamic_partitions(tiles_partitions.name))
    new = [t for t in declared if t not in known]
    if not new:
        return dg.SkipReason(f"{len(declared)} declared tiles already registered")
    return dg.SensorResult(dynamic_partitions_requests=[tiles_partitions.build_add_request(new)])
