"""Schedules for periodic sources: series whose fiche declares an update every hour or more
often (river gauges) are ingested hourly."""

from collections.abc import Sequence

import dagster as dg

from jnft.assets.factory import bronze_key, silver_key
from jnft.quality.checks import duration_days
from jnft.quality.fiche import Fiche

HOUR_DAYS = 1 / 24


def build_gauge_schedule(fiches: Sequence[Fiche]) -> dg.ScheduleDefinition | None:
    """An hourly job landing and ingesting every series updated at least hourly."""
    hourly = [
        f
        for f in fiches
        if not f.tiled  # an unpartitioned job: series, and other untiled concepts
        and duration_days(f.criteria.c03_frequency.update_frequency) <= HOUR_DAYS
    ]
    if not hourly:
        return None
    keys = sorted(
        {bronze_key(f.source.name) for f in hourly} | {silver_key(f.id) for f in hourly}, key=str
    )
    job = dg.define_asset_job(
        "gauge_series",
        selection=dg.AssetSelection.assets(*keys),
        description="Land the new gauge deliveries and append them to the series: "
        + ", ".join(f.id for f in hourly),
    )
    return dg.ScheduleDefinition(
        name="gauge_series_hourly",
        job=job,
        cron_schedule="0 * * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every hour: gauge series (fiches updated every PT1H or more often).",
    )
