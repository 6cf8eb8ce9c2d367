import dagster as dg

from jnft.orchestration.definitions import defs
from jnft.orchestration.resources import LakehouseResource
from jnft.orchestration.schedules import build_gauge_schedule
from jnft.quality.fiche import load_fiches
from tests.factories import CONCEPTS_DIR

fiches = load_fiches(CONCEPTS_DIR)


def test_gauge_series_are_scheduled_hourly():
    schedule = build_gauge_schedule(fiches)
    assert schedule.cron_schedule == "0 * * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def("gauge_series")
    keys = set(job.asset_layer.selected_asset_keys)
    assert dg.AssetKey(["silver", "hydrometrie"]) in keys
    assert dg.AssetKey(["silver", "maregraphe"]) not in keys  # updated yearly, not hourly


def test_the_scheduled_job_lands_and_appends_the_gauge_series(small_sources, tmp_path):
    resource = LakehouseResource(root=str(tmp_path / "lake"), sources=str(small_sources))
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_schedule_context(instance=instance, resources={"lakehouse": resource})
    (request,) = build_gauge_schedule(fiches).evaluate_tick(context).run_requests
    job = defs.resolve_job_def("gauge_series")
    result = job.execute_in_process(
        instance=instance, resources={"lakehouse": resource}, tags=request.tags
    )
    assert result.success
    event = instance.get_latest_materialization_event(dg.AssetKey(["silver", "hydrometrie"]))
    metadata = event.asset_materialization.metadata
    assert metadata["new"].value > 0 and "rating_curve" in metadata
