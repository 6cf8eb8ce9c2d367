"""The viewer's web server: a Starlette app serving the built front-end (`static/`), the
territory's JSON API, vector tiles (MVT made on request, and PMTiles archives read by HTTP
range requests), raster tiles (PNG: the DEM's hillshade and elevations, a flood's maps in
classes) and decimated point clouds; other ASGI apps (the OGC API) are mounted beside it
under their own prefix.

A PMTiles reader asks for one byte range per tile: a single satisfiable range is read and
answered (206) here, a few times faster than Starlette's `FileResponse` (its stat and open in
threads of their own); anything else (no range, several, unsatisfiable, `If-Range`) is left
to it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from jnft.settings import Settings
from jnft.viewer import pointcloud, raster
from jnft.viewer.territory import NotFound, Territory

STATIC_DIR = Path(__file__).parent / "static"
MVT = "application/vnd.mapbox-vector-tile"
PMTILES = "application/vnd.pmtiles"
# Points per tile the 3D view asks for by default: a few MB, drawn smoothly by a laptop's GPU.
POINT_BUDGET = 200_000
_BUILD_HINT = "front-end not built: cd viewer && npm ci && npm run build"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _tile(request: Request) -> tuple[int, int, int]:
    z, x, y = (request.path_params[k] for k in ("z", "x", "y"))
    if not (0 <= z <= 24 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise HTTPException(404, f"no tile {z}/{x}/{y}")
    return z, x, y


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be a date YYYY-MM-DD, not {text!r}") from None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a `Range` header asking for one satisfiable range of a file of
    `size` bytes (RFC 9110: `bytes=a-b`, `bytes=a-`, `bytes=-n`), else None."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last n bytes
        return (max(size - int(last), 0), size - 1) if int(last) > 0 and size > 0 else None
    start, end = int(first), min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end else None


def _file_range(path: Path, request: Request, media_type: str) -> Response:
    """A file, or the one byte range the request asks for (206), with the validators that
    `FileResponse` gives (an archive replaced under a reader is seen by its ETag)."""
    stat = path.stat()
    whole = FileResponse(path, media_type=media_type, stat_result=stat)
    span = byte_range(request.headers.get("range"), stat.st_size)
    if span is None or "if-range" in request.headers:  # its validator is checked there
        return whole
    start, end = span
    with path.open("rb") as file:
        file.seek(start)
        body = file.read(end - start + 1)
    return Response(
        body,
        status_code=206,
        media_type=media_type,
        headers={
            "accept-ranges": "bytes",
            "content-range": f"bytes {start}-{end}/{stat.st_size}",
            "etag": whole.headers["etag"],
            "last-modified": whole.headers["last-modified"],
        },
    )


def _routes(territory: Territory) -> list[BaseRoute]:
    def info(_: Request) -> JSONResponse:
        paths, low, high = territory.dem
        return JSONResponse(
            {
                "bounds": territory.bounds,
                "buildings": territory.buildings.id if territory.buildings else None,
                "communes": territory.communes.id if territory.communes else None,
                "commune_code": (
                    territory.communes.roles["admin_units"]["code"] if territory.communes else None
                ),
                "height_column": (
                    territory.buildings.roles["buildings"].get("height")
                    if territory.buildings
                    else None
                ),
                "hillshade": "/tiles/hillshade/{z}/{x}/{y}.png" if paths else None,
                "terrain": "/tiles/terrain/{z}/{x}/{y}.png" if paths else None,
                "elevation_m": [low, high],
                "scenarios": territory.scenarios,
                "flood_products": [
                    {
                        "id": p.product,
                        "title": p.title,
                        "unit": p.unit,
                        "tiles": f"/tiles/flood/{p.product}/{{scenario}}/{{z}}/{{x}}/{{y}}.png",
                        "legend": f"/api/legends/{p.product}",
                    }
                    for p in raster.FLOOD_PRODUCTS.values()
                ],
                "vintages": territory.vintages,
                "vector_layers": sorted(territory.vectors),
                "pmtiles": {c: f"/pmtiles/{c}.pmtiles" for c in sorted(territory.archives)},
                "pointcloud": {
                    "concept": territory.pointcloud.id,
                    "tiles": [
                        {
                            "tile": t.tile,
                            "points": t.points,
                            "url": f"/api/pointcloud/{t.tile}.bin?budget={POINT_BUDGET}",
                        }
                        for t in territory.cloud_tiles.values()
                    ],
                }
                if territory.cloud_tiles and territory.pointcloud
                else None,
            }
        )

    def layers(_: Request) -> JSONResponse:
        return JSONResponse(territory.layers())

    def flood_product(request: Request) -> raster.FloodProduct:
        name = request.path_params["product"]
        if name not in raster.FLOOD_PRODUCTS:
            raise HTTPException(
                404, f"no flood product {name!r}: {', '.join(raster.FLOOD_PRODUCTS)}"
            )
        return raster.FLOOD_PRODUCTS[name]

    def flood_legend(request: Request) -> JSONResponse:
        return JSONResponse(raster.legend(flood_product(request)))

    def asof(request: Request) -> JSONResponse:
        when = _date(request.query_params.get("date"), "date")
        if when is None:
            raise HTTPException(400, "give the date: ?date=YYYY-MM-DD")
        return JSONResponse(territory.asof(request.path_params["concept"], when))

    def building(request: Request) -> JSONResponse:
        return JSONResponse(territory.building(request.path_params["feature_id"]))

    def commune(request: Request) -> JSONResponse:
        return JSONResponse(territory.commune_exposure(request.path_params["code"]))

    def vector_tile(request: Request) -> Response:
        z, x, y = _tile(request)
        when = _date(request.query_params.get("asof"), "asof")
        body = territory.vector_tile(
            request.path_params["concept"], raster.mercator_bounds(z, x, y), when
        )
        return Response(body, media_type=MVT)

    def archive(request: Request) -> Response:
        return _file_range(territory.archive(request.path_params["concept"]), request, PMTILES)

    @lru_cache(maxsize=8)
    def cloud(tile: str, budget: int) -> bytes:
        return pointcloud.encode(*pointcloud.decimated(territory.cloud_tile(tile), budget))

    def points(request: Request) -> Response:
        text = request.query_params.get("budget", str(POINT_BUDGET))
        if not text.isdigit() or not 0 < int(text) <= pointcloud.MAX_BUDGET:
            raise HTTPException(400, f"budget: points, 1 to {pointcloud.MAX_BUDGET}, not {text!r}")
        body = cloud(request.path_params["tile"], int(text))
        return Response(body, media_type="application/octet-stream")

    def dem_tiles(render: Callable[..., np.ndarray | None]) -> Callable[[Request], Response]:
        """A route drawing the DEM's tiles with `render` (elevations, hillshade)."""

        def tile(request: Request) -> Response:
            paths, _, _ = territory.dem
            if not paths:
                raise HTTPException(404, "the terrain is not a raster concept of the lakehouse")
            return Response(raster.png(render(paths, *_tile(request))), media_type="image/png")

        return tile

    def flood(request: Request) -> Response:
        product = flood_product(request)
        paths = territory.flood_maps(request.path_params["scenario"], product.product)
        return Response(
            raster.png(raster.flood_tile(product, paths, *_tile(request))),
            media_type="image/png",
        )

    return [
        Route("/api/territory", info),
        Route("/api/layers", layers),
        Route("/api/legends/{product}", flood_legend),
        Route("/api/asof/{concept}", asof),
        Route("/api/buildings/{feature_id}", building),
        Route("/api/communes/{code}/exposure", commune),
        Route("/api/pointcloud/{tile}.bin", points),
        Route("/pmtiles/{concept}.pmtiles", archive),
        Route("/tiles/terrain/{z:int}/{x:int}/{y:int}.png", dem_tiles(raster.terrain_tile)),
        Route("/tiles/hillshade/{z:int}/{x:int}/{y:int}.png", dem_tiles(raster.hillshade_tile)),
        Route("/tiles/flood/{product}/{scenario}/{z:int}/{x:int}/{y:int}.png", flood),
        Route("/tiles/{concept}/{z:int}/{x:int}/{y:int}.mvt", vector_tile),
    ]


async def _not_found(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=404)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code)


def create_app(
    settings: Settings,
    mounts: Mapping[str, ASGIApp] | None = None,
    static_dir: Path = STATIC_DIR,
) -> Starlette:
    """The viewer over the settings' lakehouse; `mounts` maps a prefix (`/ogc`) to another
    ASGI app served beside it."""
    territory = Territory(settings)
    routes = _routes(territory)
    routes += [Mount(prefix, app=app) for prefix, app in (mounts or {}).items()]
    if static_dir.is_dir():
        routes.append(Mount("/", app=StaticFiles(directory=static_dir, html=True)))
    else:
        routes.append(Route("/", lambda _: PlainTextResponse(_BUILD_HINT, status_code=503)))
    app = Starlette(
        routes=routes,
        exception_handlers={NotFound: _not_found, HTTPException: _http_error},
    )
    app.state.territory = territory
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the viewer, and the OGC APIs under /ogc, until interrupted (`jnft serve`)."""
    from jnft.ogcapi import ogc_app

    ogc = ogc_app(settings, url=f"http://{host}:{port}/ogc")
    uvicorn.run(create_app(settings, mounts={"/ogc": ogc}), host=host, port=port, log_level="info")
