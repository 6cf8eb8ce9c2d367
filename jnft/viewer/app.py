"""The viewer's web server: a Starlette app serving the built front-end (`static/`), the
territory's JSON API, vector tiles (MVT) and raster tiles (PNG); other ASGI apps (the OGC API)
are mounted beside it under their own prefix."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from jnft.settings import Settings
from jnft.viewer import raster
from jnft.viewer.territory import NotFound, Territory

STATIC_DIR = Path(__file__).parent / "static"
MVT = "application/vnd.mapbox-vector-tile"
_BUILD_HINT = "front-end not built: cd viewer && npm ci && npm run build"


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
                "elevation_m": [low, high],
                "scenarios": territory.scenarios,
                "vintages": territory.vintages,
                "vector_layers": sorted(territory.vectors),
            }
        )

    def layers(_: Request) -> JSONResponse:
        return JSONResponse(territory.layers())

    def depth_legend(_: Request) -> JSONResponse:
        return JSONResponse(raster.depth_legend())

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

    def hillshade(request: Request) -> Response:
        paths, _, _ = territory.dem
        if not paths:
            raise HTTPException(404, "the terrain is not a raster concept of the lakehouse")
        return Response(
            raster.png(raster.hillshade_tile(paths, *_tile(request))), media_type="image/png"
        )

    def depth(request: Request) -> Response:
        paths = territory.depth_maps(request.path_params["scenario"])
        return Response(
            raster.png(raster.depth_tile(paths, *_tile(request))), media_type="image/png"
        )

    return [
        Route("/api/territory", info),
        Route("/api/layers", layers),
        Route("/api/legends/depth", depth_legend),
        Route("/api/asof/{concept}", asof),
        Route("/api/buildings/{feature_id}", building),
        Route("/api/communes/{code}/exposure", commune),
        Route("/tiles/hillshade/{z:int}/{x:int}/{y:int}.png", hillshade),
        Route("/tiles/depth/{scenario}/{z:int}/{x:int}/{y:int}.png", depth),
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
