"""One lakehouse of the small territory and one server of its OGC APIs, shared by the tests of
`jnft.ogcapi` (materializing takes a minute): the app on a loopback port, as uvicorn serves it
and mounted under `/ogc` as the viewer mounts it."""

import shutil
import socket
import threading
import time

import dagster as dg
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from jnft.ogcapi import ogc_app
from jnft.orchestration.definitions import build_definitions
from jnft.orchestration.demo import materialize_all
from jnft.orchestration.partitions import register_tiles, territory_tiles
from jnft.orchestration.resources import LakehouseResource
from jnft.settings import Settings
from tests.factories import PROJECT_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="package")
def project(small_sources, tmp_path_factory):
    """A copy of the sample project (its scenarios/ receives inline scenarios), in force,
    with its lakehouse of the small territory and a persistent Dagster instance."""
    root = tmp_path_factory.mktemp("ogcapi")
    for folder in ("concepts", "scenarios", "sql"):
        shutil.copytree(PROJECT_DIR / folder, root / "project" / folder)
    settings = Settings(
        project=root / "project",
        lakehouse=root / "lakehouse",
        sources=small_sources,
        inbox=root / "inbox",
        dagster_home=root / "dagster_home",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JNFT_PROJECT_DIR", str(settings.project))
        settings.dagster_home.mkdir()
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            tiles = territory_tiles(small_sources)
            register_tiles(instance, tiles)
            resources = {"lakehouse": LakehouseResource.from_settings(settings)}
            results = materialize_all(instance, build_definitions(settings), tiles, resources)
        assert all(r.success for r in results)
        yield settings


@pytest.fixture(scope="package")
def server(project):
    """The app on a free loopback port; its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/ogc"
    host = Starlette(routes=[Mount("/ogc", app=ogc_app(project, url=url))])
    config = uvicorn.Config(host, host="127.0.0.1", port=port, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started:
        time.sleep(0.05)
    yield url
    served.should_exit = True
    thread.join(timeout=10)
