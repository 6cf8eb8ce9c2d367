"""The ASGI app: pygeoapi's API object over the generated configuration, behind Starlette routes
(OGC API – Features, read-only, – Records, – Coverages, – EDR and – Processes), plus the flood
maps' COGs as static files.

pygeoapi's own `starlette_app` module reads its configuration from environment variables at
import; this factory builds the same API from a configuration in memory, so that one process can
serve any project and a host app can mount it: `Mount("/ogc", app=ogc_app(settings,
url="https://host/ogc"))` — `url` is the public address the links are written with.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pygeoapi
import pygeoapi.api as core_api
import pygeoapi.api.coverages as coverages_api
import pygeoapi.api.environmental_data_retrieval as edr_api
import pygeoapi.api.itemtypes as itemtypes_api
import pygeoapi.api.processes as processes_api
from pygeoapi.api import API, APIRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jnft.ogcapi.config import MAPS_PATH, build_config, checked, openapi_document
from jnft.quality.fiche import load_fiches
from jnft.settings import Settings

Handler = Callable[[Request], Awaitable[Response]]


def _response(headers: dict[str, str], status: int, content: Any) -> Response:
    if headers.get("Content-Type") == "text/html":
        response: Response = HTMLResponse(content, status_code=status)
    elif isinstance(content, dict):
        response = JSONResponse(content, status_code=status)
    else:
        response = Response(content, status_code=status)
    response.headers.update(headers)
    return response


def _in_thread(loop: asyncio.AbstractEventLoop, function: Callable[..., Any], *args: Any) -> Any:
    # pygeoapi's API functions look up the running loop (processes' async jobs do).
    asyncio.set_event_loop(loop)
    return function(*args)


class CurrentAPI:
    """pygeoapi's API over the configuration of the lakehouse as it is: rebuilt (mosaics,
    collections, records) when `lakehouse.duckdb` is — a new vintage, a flood scenario run by
    the process — so that what the lakehouse publishes is served without a restart."""

    def __init__(self, build: Callable[[], API], database: Path) -> None:
        self._build = build
        self._database = database
        self._lock = threading.Lock()
        self._version = self._stat()
        self._api = build()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._database)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def __call__(self) -> API:
        version = self._stat()
        if version != self._version:
            with self._lock:  # one rebuild; the other requests wait for it
                if version != self._version:
                    self._api = self._build()
                    self._version = version
        return self._api


def _endpoint(
    current: Callable[[], API],
    function: Callable[..., tuple[dict[str, str], int, Any]],
    *path_params: str,
    validate: bool = True,
) -> Handler:
    """A Starlette endpoint calling an API function with the request and its path parameters
    (off the event loop: providers, processes and a configuration's rebuild block)."""

    async def endpoint(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        api = await loop.run_in_executor(None, current)
        api_request = await APIRequest.from_starlette(request, api.locales)
        if validate and not api_request.is_valid():
            return _response(*api.get_format_exception(api_request))
        args = [request.path_params[name] for name in path_params]
        result = await loop.run_in_executor(
            None, _in_thread, loop, function, api, api_request, *args
        )
        return _response(*result)

    return endpoint


def _edr(query_type: str) -> Callable[..., tuple[dict[str, str], int, Any]]:
    """pygeoapi's EDR query function for one query type (its path names the type)."""

    def query(
        api: API, request: APIRequest, collection_id: str, location_id: str | None = None
    ) -> tuple[dict[str, str], int, Any]:
        return edr_api.get_collection_edr_query(
            api, request, collection_id, None, query_type, location_id
        )

    return query


def _job(api: Callable[[], API]) -> Handler:
    status = _endpoint(api, processes_api.get_jobs, "job_id")
    dismiss = _endpoint(api, processes_api.delete_job, "job_id")

    async def job(request: Request) -> Response:
        return await (dismiss if request.method == "DELETE" else status)(request)

    return job


def routes(api: Callable[[], API], maps_dir: Path) -> list[Route | Mount]:
    """The routes of the read-only Features, Records, Coverages and EDR APIs, the Processes
    API and the flood maps."""
    static = Path(pygeoapi.__file__).parent / "static"
    return [
        Route("/", _endpoint(api, core_api.landing_page)),
        Route("/openapi", _endpoint(api, core_api.openapi_)),
        Route("/conformance", _endpoint(api, core_api.conformance)),
        Route("/collections", _endpoint(api, core_api.describe_collections)),
        Route(
            "/collections/{collection_id}/queryables",
            _endpoint(api, itemtypes_api.get_collection_queryables, "collection_id"),
        ),
        Route(
            "/collections/{collection_id}/schema",
            _endpoint(api, core_api.get_collection_schema, "collection_id"),
        ),
        Route(
            "/collections/{collection_id}/items",
            _endpoint(api, itemtypes_api.get_collection_items, "collection_id", validate=False),
        ),
        Route(
            "/collections/{collection_id}/items/{item_id}",
            _endpoint(api, itemtypes_api.get_collection_item, "collection_id", "item_id"),
        ),
        Route(  # its own formats (GTiff) are not pygeoapi's generic ones
            "/collections/{collection_id}/coverage",
            _endpoint(api, coverages_api.get_collection_coverage, "collection_id", validate=False),
        ),
        *[
            Route(
                f"/collections/{{collection_id}}/{kind}",
                _endpoint(api, _edr(kind), "collection_id"),
            )
            for kind in ("position", "area", "locations")
        ],
        Route(
            "/collections/{collection_id}/locations/{location_id}",
            _endpoint(api, _edr("locations"), "collection_id", "location_id"),
        ),
        Route(
            "/collections/{collection_id}",
            _endpoint(api, core_api.describe_collections, "collection_id"),
        ),
        Route("/processes", _endpoint(api, processes_api.describe_processes)),
        Route(
            "/processes/{process_id}",
            _endpoint(api, processes_api.describe_processes, "process_id"),
        ),
        Route(
            "/processes/{process_id}/execution",
            _endpoint(api, processes_api.execute_process, "process_id"),
            methods=["POST"],
        ),
        Route("/jobs", _endpoint(api, processes_api.get_jobs)),
        Route("/jobs/{job_id}", _job(api), methods=["GET", "DELETE"]),
        Route("/jobs/{job_id}/results", _endpoint(api, processes_api.get_job_result, "job_id")),
        Mount("/static", StaticFiles(directory=static)),
        Mount(f"/{MAPS_PATH}", StaticFiles(directory=maps_dir, check_dir=False)),
    ]


def pygeoapi_config(settings: Settings, url: str, state_dir: Path | None = None) -> dict[str, Any]:
    """The validated pygeoapi configuration of the project (jobs in `<lakehouse>/ogcapi/`)."""
    fiches = load_fiches(settings.concepts)
    state = state_dir or settings.lakehouse / "ogcapi"
    return checked(build_config(settings, fiches, url, state))


def ogc_app(
    settings: Settings, url: str = "http://127.0.0.1:8000/ogc", state_dir: Path | None = None
) -> Starlette:
    """The OGC APIs of the project's lakehouse as an ASGI app, its links written with `url`
    (the address it is reached at, mount path included). The lakehouse must be materialized."""

    def build() -> API:
        config = pygeoapi_config(settings, url, state_dir)
        return API(config, openapi_document(config))

    current = CurrentAPI(build, settings.lakehouse / "lakehouse.duckdb")
    return Starlette(routes=routes(current, settings.lakehouse / "gold" / "simulation"))
