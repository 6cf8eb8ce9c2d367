"""Tiles of the territory viewer on the sample territory's lakehouse (`make demo` first).

1. Vector tiles: every zoom-15 tile over the buildings, MVT of the gold layer made on request
   by DuckDB spatial (`ST_AsMVTGeom` + `ST_AsMVT`, what the viewer serves), against clipping
   with shapely and encoding with the `mapbox-vector-tile` package from the same rows.
2. PMTiles: the same tiles read from the buildings' archive (gold/batiment.pmtiles) through
   HTTP range requests to the viewer, its header and directories read and parsed once and
   kept (as the `pmtiles` JS client does; a tile the archive lacks costs no request), against
   the viewer's on-request MVT tiles over HTTP (both over one keep-alive connection to the
   viewer served by uvicorn in the measuring process).
3. Raster tiles: every zoom-14 tile over a scenario's depth maps, warped from the COGs that
   reach the tile through a `WarpedVRT` (reading the overview that fits the zoom) and classed
   into a PNG (what the viewer serves), against `rasterio.warp.reproject` of every COG's full
   grid onto the tile.

Run: `python bench/viewer_tiles.py [--lakehouse DIR] [--scenario ID] [--repeats R]`; writes
bench/results/viewer_tiles.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

VECTOR_ZOOM, RASTER_ZOOM = 15, 14
PASSES = 10  # reads of every tile over HTTP: a pass alone lasts a few milliseconds


def tiles_over(bounds: list[float], z: int) -> list[tuple[int, int, int]]:
    """Every XYZ tile of zoom z over (west, south, east, north) in degrees."""

    def tile(lon: float, lat: float) -> tuple[int, int]:
        n = 2**z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    (x0, y0), (x1, y1) = tile(bounds[0], bounds[3]), tile(bounds[2], bounds[1])
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def _settings(lakehouse: str):
    from jnft.settings import load_settings

    settings = load_settings()
    return dataclasses.replace(settings, lakehouse=Path(lakehouse)) if lakehouse else settings


def prepare_ours_vector(lakehouse: str, tiles: list) -> tuple:
    from jnft.viewer.territory import Territory

    return Territory(_settings(lakehouse)), tiles


def ours_vector(territory, tiles: list) -> None:
    from jnft.viewer.raster import mercator_bounds

    for z, x, y in tiles:
        territory.vector_tile("batiment", mercator_bounds(z, x, y), None)


def prepare_baseline_vector(lakehouse: str, tiles: list) -> tuple:
    import pyarrow.parquet as pq
    import pyproj
    import shapely

    from jnft.lakehouse.store import Lakehouse

    store = Lakehouse.at(_settings(lakehouse).lakehouse)
    rows = pq.read_table(store.gold_path("batiment"))
    geoms = shapely.from_wkb(rows["geometry"].to_numpy(zero_copy_only=False))
    to_mercator = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:3857", always_xy=True)
    geoms = shapely.transform(
        geoms,
        lambda xy: __import__("numpy").column_stack(to_mercator.transform(xy[:, 0], xy[:, 1])),
    )
    keep = ["feature_id", "cleabs", "usage_1", "hauteur", "nombre_de_logements"]
    return geoms, rows.select(keep).to_pylist(), shapely.STRtree(geoms), tiles


def baseline_vector(geoms, properties: list, tree, tiles: list) -> None:
    import mapbox_vector_tile
    import shapely

    from jnft.viewer.raster import mercator_bounds

    for z, x, y in tiles:
        xmin, ymin, xmax, ymax = mercator_bounds(z, x, y)
        margin = (xmax - xmin) * 64 / 4096
        box = shapely.box(xmin - margin, ymin - margin, xmax + margin, ymax + margin)
        hits = tree.query(box, predicate="intersects")
        features = [
            {"geometry": shapely.clip_by_rect(geoms[i], *box.bounds), "properties": properties[i]}
            for i in hits
        ]
        mapbox_vector_tile.encode(
            [{"name": "batiment", "features": features}],
            default_options={"quantize_bounds": (xmin, ymin, xmax, ymax), "y_coord_down": False},
        )


def _serve(lakehouse: str):
    """The viewer on a free loopback port, in a thread of this process: (server, port)."""
    import socket
    import threading
    import time

    import uvicorn

    from jnft.viewer import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(_settings(lakehouse))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def _get(connection, path: str, headers: dict | None = None) -> bytes:
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    assert response.status in (200, 206), (path, response.status)
    return body


def prepare_pmtiles(lakehouse: str, tiles: list, passes: int) -> tuple:
    import http.client

    from pmtiles.tile import deserialize_directory, deserialize_header

    _, port = _serve(lakehouse)
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def get_bytes(offset: int, length: int) -> bytes:
        headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
        return _get(connection, "/pmtiles/batiment.pmtiles", headers)

    header = deserialize_header(get_bytes(0, 127))
    parsed: dict[int, list] = {}

    def directory(offset: int, length: int) -> list:
        """A directory's entries, read and parsed once (as the `pmtiles` JS client keeps)."""
        if offset not in parsed:
            parsed[offset] = deserialize_directory(get_bytes(offset, length))
        return parsed[offset]

    directory(header["root_offset"], header["root_length"])  # read on opening the archive
    return get_bytes, header, directory, tiles, passes


def ours_pmtiles(get_bytes, header: dict, directory, tiles: list, passes: int) -> None:
    from pmtiles.tile import find_tile, zxy_to_tileid

    for _ in range(passes):
        for z, x, y in tiles:
            tile_id = zxy_to_tileid(z, x, y)
            offset, length = header["root_offset"], header["root_length"]
            while entry := find_tile(directory(offset, length), tile_id):  # none: no tile
                if entry.run_length:  # the tile's bytes
                    get_bytes(header["tile_data_offset"] + entry.offset, entry.length)
                    break
                offset = header["leaf_directory_offset"] + entry.offset  # a leaf directory
                length = entry.length


def prepare_mvt_http(lakehouse: str, tiles: list, passes: int) -> tuple:
    import http.client

    _, port = _serve(lakehouse)
    connection = http.client.HTTPConnection("127.0.0.1", port)
    _get(connection, "/tiles/batiment/{}/{}/{}.mvt".format(*tiles[0]))
    return connection, tiles, passes


def mvt_http(connection, tiles: list, passes: int) -> None:
    for _ in range(passes):
        for z, x, y in tiles:
            _get(connection, f"/tiles/batiment/{z}/{x}/{y}.mvt")


def prepare_ours_raster(lakehouse: str, scenario: str, tiles: list) -> tuple:
    from jnft.viewer.territory import Territory

    return Territory(_settings(lakehouse)).depth_maps(scenario), tiles


def ours_raster(paths: list, tiles: list) -> None:
    from jnft.viewer import raster

    for z, x, y in tiles:
        raster.png(raster.flood_tile(raster.FLOOD_PRODUCTS["max_depth"], paths, z, x, y))


def baseline_raster(paths: list, tiles: list) -> None:
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.transform import from_bounds
    from rasterio.warp import reproject

    from jnft.simulation.exposure import DEPTH_CLASSES, WET
    from jnft.viewer import raster

    for z, x, y in tiles:
        transform = from_bounds(*raster.mercator_bounds(z, x, y), 256, 256)
        depth = np.zeros((256, 256), dtype=np.float32)
        for path in paths:
            with rasterio.open(path) as src:
                part = np.full((256, 256), np.nan, dtype=np.float32)
                reproject(
                    rasterio.band(src, 1),
                    part,
                    src_nodata=src.nodata,
                    dst_transform=transform,
                    dst_crs="EPSG:3857",
                    dst_nodata=np.nan,
                    resampling=Resampling.bilinear,
                )
                depth = np.where(np.isfinite(part) & (part > depth), part, depth)
        rgba = np.zeros((256, 256, 4), dtype=np.uint8)
        for (_, low, high), colour in zip(DEPTH_CLASSES, raster.DEPTH_COLOURS, strict=True):
            rgba[(depth > max(low, WET)) & (depth <= high)] = colour
        raster.png(rgba if (depth > WET).any() else None)


def prepare_baseline_raster(lakehouse: str, scenario: str, tiles: list) -> tuple:
    return prepare_ours_raster(lakehouse, scenario, tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", default="", help="default: the project's (make demo)")
    parser.add_argument("--scenario", default="crue_q100")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from jnft.viewer.territory import Territory

    territory = Territory(_settings(args.lakehouse))
    vector_tiles = tiles_over(territory.bounds, VECTOR_ZOOM)
    raster_tiles = tiles_over(territory.bounds, RASTER_ZOOM)
    del territory
    print(f"vector: {len(vector_tiles)} tiles of zoom {VECTOR_ZOOM} over the buildings")
    vector = harness.compare(
        (prepare_ours_vector, ours_vector, (args.lakehouse, vector_tiles)),
        (prepare_baseline_vector, baseline_vector, (args.lakehouse, vector_tiles)),
        args.repeats,
    )
    print(f"pmtiles: {len(vector_tiles)} tiles × {PASSES} over HTTP from the viewer")
    archive = harness.compare(
        (prepare_pmtiles, ours_pmtiles, (args.lakehouse, vector_tiles, PASSES)),
        (prepare_mvt_http, mvt_http, (args.lakehouse, vector_tiles, PASSES)),
        args.repeats,
    )
    print(f"raster: {len(raster_tiles)} depth tiles of zoom {RASTER_ZOOM} of {args.scenario}")
    rasters = harness.compare(
        (prepare_ours_raster, ours_raster, (args.lakehouse, args.scenario, raster_tiles)),
        (prepare_baseline_raster, baseline_raster, (args.lakehouse, args.scenario, raster_tiles)),
        args.repeats,
    )
    results = []
    for metric, name, measured, count, params in (
        (
            "vector_tiles",
            "shapely clip + mapbox-vector-tile encode",
            vector,
            len(vector_tiles),
            {"zoom": VECTOR_ZOOM, "tiles": len(vector_tiles), "layer": "batiment"},
        ),
        (
            "pmtiles_tiles",
            "the viewer's on-request MVT (DuckDB ST_AsMVT) over HTTP",
            archive,
            len(vector_tiles) * PASSES,
            {
                "zoom": VECTOR_ZOOM,
                "tiles": len(vector_tiles),
                "passes": PASSES,
                "layer": "batiment",
            },
        ),
        (
            "raster_tiles",
            "rasterio.warp.reproject of every COG's full grid onto the tile",
            rasters,
            len(raster_tiles),
            {"zoom": RASTER_ZOOM, "tiles": len(raster_tiles), "scenario": args.scenario},
        ),
    ):
        result = harness.record(
            f"viewer_tiles.{metric}",
            f"{metric} throughput",
            "tiles/s",
            measured,
            (count, count),
            name,
            params,
        )
        results.append(result)
        print(
            f"{metric}: ours {result['ours']:,} tiles/s vs baseline {result['baseline']:,} "
            f"tiles/s -> ratio {result['ratio']:.2f}; peak RSS ours {result['peak_rss_mb']} MB, "
            f"baseline {result['baseline_peak_rss_mb']} MB"
        )
    print(f"written {harness.write('viewer_tiles', results)}")


if __name__ == "__main__":
    main()
