"""The production instance (`infra/dagster.yaml`) on a real PostgreSQL server: materializations,
a sensor tick and a backfill of flood partitions run by `dagster-daemon run`, each proven by
reading Dagster's own tables in Postgres."""

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from jnft.assets.simulation import FLOOD_KEY
from jnft.orchestration.backfill import daemon_running, launch_backfill, wait_for_backfill
from jnft.orchestration.definitions import build_definitions
from jnft.orchestration.demo import materialize_all
from jnft.orchestration.partitions import register_tiles, territory_tiles
from jnft.orchestration.resources import LakehouseResource
from jnft.settings import load_settings
from tests.factories import CONCEPTS_DIR, PROJECT_DIR
from tests.services.postgres import PostgresUnavailable, running_postgres

pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed")
psycopg2 = pytest.importorskip("psycopg2", reason="dagster-postgres is not installed")

pytestmark = pytest.mark.integration

SCENARIO = "crue_courte"
SHORT_FLOOD = f"""id: {SCENARIO}
title: Crue courte
description: A declared peak over three hours, enough water to flood and little to compute.
kind: river
river: {{peak_discharge_m3s: 400, time_to_peak_h: 1, inflow_width_m: 50}}
duration_h: 3
resolution_m: 25
"""
DAEMON_START_TIMEOUT_S = 120
BACKFILL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def postgres():
    """A throwaway server on a free loopback port: the environment `infra/dagster.yaml` reads."""
    try:
        with running_postgres(user="dagster", dbname="dagster") as server:
            yield server
    except PostgresUnavailable as missing:
        pytest.skip(str(missing))


def query(server: dict, sql: str, *args: object) -> list[tuple]:
    con = psycopg2.connect(server["dsn"])
    try:
        with con.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def deployment(postgres, small_sources, tmp_path_factory):
    """DAGSTER_HOME holding `infra/dagster.yaml`, a project with one short flood, and its
    layers materialized in-process into the Postgres-backed instance."""
    root = tmp_path_factory.mktemp("deployment")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "infra" / "dagster.yaml", home / "dagster.yaml")
    project = root / "project"
    shutil.copytree(CONCEPTS_DIR, project / "concepts")
    (project / "sql").mkdir()
    (project / "scenarios").mkdir()
    (project / "scenarios" / f"{SCENARIO}.yaml").write_text(SHORT_FLOOD, encoding="utf-8")
    environment = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres["host"],
        "DAGSTER_PG_PORT": str(postgres["port"]),
        "DAGSTER_PG_USER": postgres["user"],
        "DAGSTER_PG_PASSWORD": postgres["password"],
        "DAGSTER_PG_DB": postgres["dbname"],
        "JNFT_PROJECT_DIR": str(project),
        "JNFT_LAKEHOUSE": str(root / "lakehouse"),
        "JNFT_SOURCES": str(small_sources),
        "JNFT_INBOX": str(root / "inbox"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        settings = load_settings()
        defs = build_definitions(settings)
        instance = dg.DagsterInstance.get()
        tiles = territory_tiles(small_sources)
        register_tiles(instance, tiles)
        resources = {"lakehouse": LakehouseResource.from_settings(settings)}
        results = materialize_all(instance, defs, tiles, resources)
        yield dict(instance=instance, defs=defs, tiles=tiles, results=results, root=root)
        instance.dispose()


@pytest.fixture(scope="module")
def daemon(deployment, postgres):
    """`dagster-daemon run` on the checkout's workspace, up once it has ticked the scenarios
    sensor (the sensors are on by default)."""
    log = (deployment["root"] / "daemon.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run",
         "-w", str(PROJECT_DIR / "workspace.yaml")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        while not sensor_ticks(postgres, "scenarios_sensor"):
            failed = process.poll() is not None or time.monotonic() > deadline
            assert not failed, (deployment["root"] / "daemon.log").read_text()[-5000:]
            time.sleep(1)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the daemon and the code server it started
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def sensor_ticks(server: dict, sensor: str) -> list[dict]:
    """A sensor's ticks, as the daemon wrote them."""
    rows = query(
        server,
        "SELECT tick_body FROM job_ticks WHERE type = 'SENSOR' AND tick_body LIKE %s ORDER BY id",
        f'%"job_name": "{sensor}"%',
    )
    return [json.loads(body) for (body,) in rows]


def test_layer_materializations_are_rows_in_postgres(deployment, postgres):
    assert all(result.success for result in deployment["results"])
    partitions = query(
        postgres,
        "SELECT DISTINCT partition FROM event_logs WHERE dagster_event_type = "
        "'ASSET_MATERIALIZATION' AND asset_key = %s",
        dg.AssetKey(["silver", "batiment"]).to_string(),
    )
    assert sorted(p for (p,) in partitions) == deployment["tiles"]
    runs = query(postgres, "SELECT status FROM runs")
    assert runs and {s for (s,) in runs} == {"SUCCESS"}


def test_the_daemon_ticks_the_scenarios_sensor_which_registers_the_scenario(daemon, postgres):
    # A tick that only adds partitions requests no run: Dagster records it as skipped. The
    # daemon may tick before the code location is up (adding nothing): the tick that added
    # the scenario is looked for among the first minute's.
    deadline = time.monotonic() + 60
    while True:
        added = [
            (result["partitions_def_name"], result["added_partitions"])
            for tick in sensor_ticks(postgres, "scenarios_sensor")
            for result in tick.get("dynamic_partitions_request_results", [])
            if result["added_partitions"]
        ]
        if added or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert added == [("scenarios", [SCENARIO])]
    registered = query(
        postgres, "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'scenarios'"
    )
    assert registered == [(SCENARIO,)]


def test_a_flood_backfill_runs_through_the_queue_and_the_daemon(deployment, daemon, postgres):
    instance = deployment["instance"]
    assert daemon_running(instance)
    backfill_id = launch_backfill(
        instance, deployment["defs"], deployment["tiles"], [SCENARIO], assets=[FLOOD_KEY]
    )
    status = wait_for_backfill(instance, backfill_id, BACKFILL_TIMEOUT_S)
    assert status.value in ("COMPLETED", "COMPLETED_SUCCESS"), status
    assert query(postgres, "SELECT status FROM bulk_actions WHERE key = %s", backfill_id) == [
        ("COMPLETED_SUCCESS",)
    ]
    runs = query(
        postgres,
        "SELECT r.status, r.start_time, r.end_time FROM runs r JOIN run_tags t USING (run_id) "
        "WHERE t.key = 'dagster/backfill' AND t.value = %s ORDER BY r.start_time",
        backfill_id,
    )
    assert [status for status, _, _ in runs] == ["SUCCESS"] * len(deployment["tiles"])
    # The queue's limit on `dagster/partition/scenario`: one flood at a time.
    assert all(later[1] >= earlier[2] for earlier, later in itertools.pairwise(runs))
    floods = query(
        postgres,
        "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key = %s ORDER BY partition",
        FLOOD_KEY.to_string(),
    )
    keys = [dg.MultiPartitionKey({"scenario": SCENARIO, "tile": t}) for t in deployment["tiles"]]
    assert [p for (p,) in floods] == sorted(keys)
