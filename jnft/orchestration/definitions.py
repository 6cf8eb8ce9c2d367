"""The code location: assets generated from the fiches, resources, sensors. No logic here."""

from __future__ import annotations

import os

import dagster as dg

from jnft.assets.catalog import build_catalog_asset
from jnft.assets.database import build_database_asset
from jnft.assets.factory import build_concept_assets
from jnft.assets.simulation import build_flood_asset
from jnft.assets.tiles import build_tiles_assets
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


def step_executor() -> dg.ExecutorDefinition | None:
    """Where a run's steps execute: in the run's process by default; one Kubernetes pod per
    step with `JNFT_EXECUTOR=k8s` (dagster-k8s, installed in infra/Dockerfile's image), each
    sized by its op tags (jnft/assets/pods.py)."""
    chosen = os.environ.get("JNFT_EXECUTOR", "")
    if chosen not in ("", "k8s"):
        raise ValueError(f"JNFT_EXECUTOR={chosen}: unset, or k8s")
    if not chosen:
        return None
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor


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
            *build_tiles_assets(fiches),
        ],
        schedules=[gauge_schedule] if gauge_schedule else [],
        sensors=[territory_tiles_sensor, scenarios_sensor, build_inbox_sensor(fiches)],
        resources={"lakehouse": LakehouseResource.from_settings(settings)},
        executor=step_executor(),
    )


# What `dagster dev` and the UI load: the project in force (see jnft.settings).
defs = build_definitions(load_settings())
