"""The code location: assets generated from the fiches, resources, sensors. No logic here."""

from __future__ import annotations

import dagster as dg

from jnft.assets.catalog import build_catalog_asset
from jnft.assets.database import build_database_asset
from jnft.assets.factory import build_concept_assets
from jnft.assets.simulation import build_flood_asset
from jnft.orchestration.partitions import scenario_tiles, tiles_partitions
from jnft.orchestration.resources import LakehouseResource
from jnft.orchestration.schedules import build_gauge_schedule
from jnft.orchestration.sensors import (
    build_inbox_sensor,
    scenarios_sensor,
    territory_tiles_sensor,
)
from jnft.quality.fiche import load_fiches
from jnft.settings import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The project's assets, schedules, sensors and resources, from its fiches."""
    fiches = load_fiches(settings.concepts)
    gauge_schedule = build_gauge_schedule(fiches)
    return dg.Definitions(
        assets=[
            *build_concept_assets(fiches, tiles_partitions),
            build_flood_asset(fiches, scenario_tiles),
            build_database_asset(fiches),
            build_catalog_asset(fiches),
        ],
        schedules=[gauge_schedule] if gauge_schedule else [],
        sensors=[territory_tiles_sensor, scenarios_sensor, build_inbox_sensor(fiches)],
        resources={"lakehouse": LakehouseResource.from_settings(settings)},
    )


# What `dagster dev` and the UI load: the project in force (see jnft.settings).
defs = build_definitions(load_settings())
