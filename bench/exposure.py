"""Flood exposure of a département: buildings × a max-depth grid, by commune and depth class.

The data, synthetic and deterministic (Lambert-93, 80 × 75 km): ~300 communes tiling the
area (a warped Voronoi diagram of town centres drawn on a 50 m raster, so their outlines
have the hundreds of vertices of real communes), ≥ 1,000,000 rectangular buildings of
50–400 m² clustered around the towns (a fifth of the towns line the river), and a river
corridor whose flood plain is a 5 m float32 grid (16,000 × 1,800 cells, dry — 0 — outside
the flood) derived from a DEM and a water line. Every centroid is kept off the 5 m lattice
on which both the depth cells and the commune outlines lie, so no building sits on an edge
and both sides must give the same answer.

- ours: `jnft.simulation.run._exposure`, the function the flood asset calls, from the
  building and commune tables in Arrow (WKB geometries, as `jnft.assets.simulation` reads
  them) to the exposure rows: centroids, dwellings estimated from footprints and heights,
  each commune's population shared by dwellings, depth sampled at the centroids, commune
  assignment, aggregation;
- baseline: PostGIS 3 on PostgreSQL 15, the same inputs and the same answer. Load: COPY
  (text format, built column-wise by Arrow in the client) of the buildings and communes as
  hex EWKB and of the depth grid as raster tiles (100 × 100 cells, wholly dry tiles left
  out, 0 as nodata) — what `ogr2ogr` and `raster2pgsql -t 100x100 -N 0` send. Index: the
  communes cut by ST_Subdivide (128 vertices) and GiST-indexed, a GiST expression index on
  the buildings' centroids, one on the tiles' convex hulls, ANALYZE. The raster is PostGIS's
  own idiom for a grid: `ST_Value` reads the cell under a point in an indexed tile, where
  wet cells as polygons would be a hundred times more rows. Query: one statement — the
  centroids inside each commune piece (`ST_Contains`), every building kept by a LEFT JOIN
  on id, residents shared by a window over each commune, the centroids inside each depth
  tile and `ST_Value` read once for each, the depth classes of `jnft.simulation.exposure`,
  GROUP BY. Its form was chosen on EXPLAIN ANALYZE at 1 M buildings: the textbook form
  (a LEFT JOIN of the buildings to whole communes, `ST_Intersects` to the tiles, the CASE
  over an inlined `ST_Value`) took ~3× as long. The server is tuned for a bulk load (no
  fsync, minimal WAL, 1 GB shared buffers, 256 MB work_mem) and may use its parallel
  workers; JIT is left on (PostgreSQL's default).

Load + index and query are timed apart; their sum is the baseline figure. The client's
peak memory is the harness's; the server's is not in it: the backend's own peak (VmHWM,
parallel workers excluded, the shared buffers it touched included) is reported beside it.
The rows of both sides are compared in the same run: buildings and dwellings exactly,
residents to 1e-9 relative (sums in another order).

Run: `python bench/exposure.py [--buildings N] [--repeats R]`; writes
bench/results/exposure.json.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import harness  # noqa: E402

SRID = 2154
X0, Y0, WIDTH, HEIGHT = 600_000.0, 6_400_000.0, 80_000.0, 75_000.0
CELL = 5.0  # depth grid; the commune raster's 50 m cells lie on the same lattice
COMMUNE_CELL = 50.0
RIVER_Y, BAND = Y0 + 37_500.0, 4_500.0  # the flood-plain grid spans RIVER_Y ± BAND
COMMUNES, RIVER_TOWNS = 300, 60
SLOPE, FLOOD_HEAD = 4e-4, 2.5  # river slope, water line over the bed (m)
TILE = "D017"
SCENARIO = "crue_centennale"
RASTER_TILE = 100
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "1GB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
}


# --- the synthetic département -------------------------------------------------------------


def river(x: np.ndarray) -> np.ndarray:
    """The river's centre line: y of each x, meandering west to east."""
    t = x - X0
    return RIVER_Y + 2000 * np.sin(2 * np.pi * t / 23_000) + 800 * np.sin(2 * np.pi * t / 7100 + 1)


def flood_plain() -> tuple[np.ndarray, np.ndarray, float, float]:
    """(DEM, max depth, x0, y1) on the 5 m grid around the river: a valley floor rising
    away from the river, small relief, and a water line FLOOD_HEAD over the bed."""
    cols, rows = int(WIDTH / CELL), int(2 * BAND / CELL)
    x0, y1 = X0, RIVER_Y + BAND
    x = (x0 + (np.arange(cols, dtype=np.float64) + 0.5) * CELL).astype(np.float32)
    y = (y1 - (np.arange(rows, dtype=np.float64) + 0.5) * CELL).astype(np.float32)[:, None]
    bed = (SLOPE * (X0 + WIDTH - x)).astype(np.float32)
    relief = 0.4 * np.sin(x / np.float32(377)) * np.cos(y / np.float32(211))
    relief += 0.25 * np.sin((x + y) / np.float32(97))
    dem = bed + np.float32(0.002) * np.abs(y - river(x).astype(np.float32)) + relief
    depth = np.maximum(bed + np.float32(FLOOD_HEAD) - dem, np.float32(0))
    return dem.astype(np.float32), depth.astype(np.float32), x0, y1


def communes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(town centres, commune polygons, index of each polygon's town): the cells of a
    50 m raster go to the nearest town of a warped plane, and the outlines of the raster's
    regions are the communes (so they tile the area exactly)."""
    import rasterio.features
    from rasterio.transform import Affine
    from scipy.spatial import cKDTree

    along = X0 + (np.arange(RIVER_TOWNS) + rng.uniform(0.2, 0.8, RIVER_TOWNS)) * (
        WIDTH / RIVER_TOWNS
    )
    towns = np.concatenate(
        [
            np.column_stack([along, river(along) + rng.normal(0, 500, RIVER_TOWNS)]),
            np.column_stack(
                [
                    rng.uniform(X0, X0 + WIDTH, COMMUNES - RIVER_TOWNS),
                    rng.uniform(Y0, Y0 + HEIGHT, COMMUNES - RIVER_TOWNS),
                ]
            ),
        ]
    )
    cols, rows = int(WIDTH / COMMUNE_CELL), int(HEIGHT / COMMUNE_CELL)
    x = X0 + (np.arange(cols) + 0.5) * COMMUNE_CELL
    y = Y0 + HEIGHT - (np.arange(rows) + 0.5) * COMMUNE_CELL
    gx, gy = np.meshgrid(x, y)
    warped = np.column_stack(
        [(gx + 700 * np.sin(gy / 4100)).ravel(), (gy + 700 * np.sin(gx / 3700)).ravel()]
    )
    labels = cKDTree(towns).query(warped)[1].reshape(rows, cols).astype(np.int32)
    transform = Affine(COMMUNE_CELL, 0, X0, 0, -COMMUNE_CELL, Y0 + HEIGHT)
    parts, owners = [], []
    for shape, label in rasterio.features.shapes(labels, transform=transform):
        parts.append(shapely.geometry.shape(shape))
        owners.append(int(label))
    order = np.argsort(owners, kind="stable")
    owner = np.asarray(owners)[order]
    polygons = shapely.multipolygons(np.asarray(parts, dtype=object)[order], indices=owner)
    return towns, polygons, np.unique(owner)


def footprints(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated rectangles of 50–400 m² (log-uniform), aspect 1–2.5, around `centres`."""
    n = len(centres)
    area = np.exp(rng.uniform(np.log(50), np.log(400), n))
    aspect = rng.uniform(1, 2.5, n)
    half_l, half_w = np.sqrt(area * aspect) / 2, np.sqrt(area / aspect) / 2
    angle = rng.uniform(0, np.pi, n)
    cos, sin = np.cos(angle), np.sin(angle)
    corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 1]], dtype=np.float64)
    u = corners[None, :, 0] * half_l[:, None]
    v = corners[None, :, 1] * half_w[:, None]
    coords = np.stack(
        [
            centres[:, :1] + u * cos[:, None] - v * sin[:, None],
            centres[:, 1:] + u * sin[:, None] + v * cos[:, None],
        ],
        axis=-1,
    )
    return shapely.polygons(coords)


def off_lattice(values: np.ndarray, origin: float) -> np.ndarray:
    """Values moved 2 cm off the 5 m lattice where they lie within 5 mm of it: no centroid
    on a cell edge or a commune outline, where two implementations may rightly differ."""
    frac = np.mod((values - origin) / CELL, 1.0)
    near = (frac < 1e-3) | (frac > 1 - 1e-3)
    return np.where(near, values + 0.02, values)


def departement(folder: Path, buildings: int, seed: int = 0) -> dict:
    """Write the département's layers into `folder`: buildings and communes as Arrow (WKB
    geometries), the DEM and the depth grid as .npy, the grid's placement as JSON."""
    rng = np.random.default_rng(seed)
    towns, polygons, owners = communes(rng)
    weights = rng.lognormal(0, 1, len(towns))
    weights[:RIVER_TOWNS] *= 3  # valleys are where people live
    scattered = buildings // 8
    per_town = rng.multinomial(buildings - scattered, weights / weights.sum())
    sigma = np.clip(1000 * np.sqrt(per_town / 5000), 200, 4000)  # ~800 buildings per km²
    town_of = np.repeat(np.arange(len(towns)), per_town)
    centres = np.concatenate(
        [
            towns[town_of] + rng.normal(0, 1, (len(town_of), 2)) * sigma[town_of, None],
            np.column_stack(
                [
                    rng.uniform(X0, X0 + WIDTH, scattered),
                    rng.uniform(Y0, Y0 + HEIGHT, scattered),
                ]
            ),
        ]
    )
    centres[:, 0] = off_lattice(np.clip(centres[:, 0], X0 + 20, X0 + WIDTH - 20), X0)
    centres[:, 1] = off_lattice(np.clip(centres[:, 1], Y0 + 20, Y0 + HEIGHT - 20), Y0)
    storeys = rng.choice([1, 2, 3, 4, 6], buildings, p=[0.45, 0.3, 0.12, 0.08, 0.05])
    height = storeys * 3.0 + rng.normal(0, 0.6, buildings)
    height[rng.random(buildings) < 0.08] = np.nan  # buildings without a height
    feather.write_feather(
        pa.table(
            {
                "id": pa.array(np.arange(buildings, dtype=np.int64)),
                "tile": pa.array([TILE] * buildings, pa.string()),
                "height": pa.array(height, from_pandas=True),
                "geometry": pa.array(shapely.to_wkb(footprints(centres, rng)), pa.binary()),
            }
        ),
        folder / "buildings.arrow",
        compression="uncompressed",
    )
    codes = [f"17{i + 1:03d}" for i in range(len(owners))]
    population = np.round(per_town[owners] * 2.2 * rng.lognormal(0, 0.15, len(owners)))
    feather.write_feather(
        pa.table(
            {
                "code": pa.array(codes),
                "name": pa.array([f"Commune {c}" for c in codes]),
                "population": pa.array(population),
                "geometry": pa.array(shapely.to_wkb(polygons), pa.binary()),
            }
        ),
        folder / "communes.arrow",
        compression="uncompressed",
    )
    dem, depth, x0, y1 = flood_plain()
    np.save(folder / "dem.npy", dem)
    np.save(folder / "depth.npy", depth)
    grid = {"x0": x0, "y1": y1, "resolution": CELL}
    (folder / "grid.json").write_text(json.dumps(grid))
    wet = float((depth > 0.01).mean())
    return {"buildings": buildings, "communes": len(owners), "depth_cells": depth.size,
            "wet_share": round(wet, 3)}  # fmt: skip


def read_inputs(folder: Path) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray, dict]:
    """The layers as a flood reads them: Arrow tables in memory, the depth grid in memory,
    the DEM mapped (the exposure never reads it)."""
    return (
        feather.read_table(folder / "buildings.arrow", memory_map=False),
        feather.read_table(folder / "communes.arrow", memory_map=False),
        np.load(folder / "dem.npy", mmap_mode="r"),
        np.load(folder / "depth.npy"),
        json.loads((folder / "grid.json").read_text()),
    )


def rows_of(table: pa.Table) -> list[list]:
    """Exposure rows as [code, commune, depth class, buildings, dwellings, residents]."""
    return [
        [r["insee_com"], r["commune"], r["depth_class"], r["buildings"], r["dwellings"],
         r["residents"]]
        for r in table.to_pylist()
    ]  # fmt: skip


# --- ours ----------------------------------------------------------------------------------


def ours_exposure(buildings: pa.Table, units: pa.Table, dem, depth, grid: dict) -> pa.Table:
    """The exposure rows, as the flood asset computes them from its layers."""
    from jnft.lakehouse import read
    from jnft.simulation import exposure as ex
    from jnft.simulation.run import Features, FloodInputs, Terrain, _exposure

    layer = Features(
        read.geometries(buildings),
        {"height": buildings["height"].to_numpy(zero_copy_only=False)},
        buildings["tile"].to_numpy(zero_copy_only=False),
    )
    admin = Features(
        read.geometries(units),
        {k: units[k].to_numpy(zero_copy_only=False) for k in ("code", "name", "population")},
    )
    x0, y1, resolution = grid["x0"], grid["y1"], grid["resolution"]
    inputs = FloodInputs(Terrain(dem, x0, y1, resolution), buildings=layer, admin_units=admin)
    exposed, _, _ = _exposure(SCENARIO, TILE, ex.DepthGrid(depth, x0, y1, resolution), inputs)
    return exposed


def prepare_ours(folder: Path, out: Path) -> tuple:
    import jnft.simulation.run  # noqa: F401  (imports are not the work measured)

    return (*read_inputs(folder), out)


def ours(buildings, units, dem, depth, grid, out: Path) -> None:
    exposed = ours_exposure(buildings, units, dem, depth, grid)
    out.write_text(json.dumps({"rows": rows_of(exposed)}))


# --- PostGIS -------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE building (id bigint, tile text, height double precision,
                       geom geometry(Polygon, {srid}));
CREATE TABLE commune (code text, name text, population double precision,
                      geom geometry(MultiPolygon, {srid}));
CREATE TABLE depth (rid serial PRIMARY KEY, rast raster);
"""
# What the query reads through an index: the communes cut into pieces of at most 128
# vertices (ST_Subdivide: a small box and a short ring to test per candidate), the
# buildings' centroids (an expression index: the join goes from each commune piece, or
# each depth tile, to the centroids inside it), the depth tiles' outlines.
SUBDIVIDE = 128
INDEXES = f"""
CREATE TABLE commune_part AS
  SELECT code, name, population, ST_Subdivide(geom, {SUBDIVIDE}) AS geom FROM commune;
CREATE INDEX ON commune_part USING gist (geom);
CREATE INDEX ON building USING gist (ST_Centroid(geom));
CREATE INDEX ON depth USING gist (ST_ConvexHull(rast));
ANALYZE building; ANALYZE commune_part; ANALYZE depth;
"""
# The classes and the dwellings estimate of jnft.simulation.exposure, in SQL. Every
# building is kept (a LEFT JOIN by id to the commune found for it, none when outside every
# commune) and shares its commune's population; only the tile's count. The depth is read
# once per building (OFFSET 0 keeps the planner from copying ST_Value into each branch of
# the CASE); tiles are rectangles, so `&&` on their outlines is their intersection.
EXPOSURE = """
WITH matched AS (
  SELECT b.id, c.code, c.name, c.population
  FROM commune_part c JOIN building b ON ST_Contains(c.geom, ST_Centroid(b.geom))
), located AS (
  SELECT b.id, b.tile, m.code, m.name, coalesce(m.population, 0) AS population,
         CASE WHEN ST_Area(b.geom) >= 20
              THEN floor(ST_Area(b.geom) * greatest(round(coalesce(b.height, 0) / 3), 1) / 90)
              ELSE 0 END AS dwellings
  FROM building b LEFT JOIN matched m USING (id)
), shared AS (
  SELECT *, CASE WHEN sum(dwellings) OVER unit > 0
                 THEN dwellings / sum(dwellings) OVER unit * population ELSE 0 END AS residents
  FROM located WINDOW unit AS (PARTITION BY code)
), sampled AS (
  SELECT b.id, v.depth
  FROM depth d JOIN building b ON ST_Centroid(b.geom) && d.rast
  CROSS JOIN LATERAL (SELECT ST_Value(d.rast, ST_Centroid(b.geom)) AS depth OFFSET 0) v
), classed AS (
  SELECT s.*, CASE WHEN depth > 0.01 AND depth <= 0.5 THEN '0-0.5'
                   WHEN depth > 0.5 AND depth <= 1 THEN '0.5-1'
                   WHEN depth > 1 AND depth <= 2 THEN '1-2'
                   WHEN depth > 2 THEN '>2' END AS depth_class
  FROM shared s JOIN sampled USING (id)
  WHERE s.tile = %(tile)s
)
SELECT code, name, depth_class, count(*), sum(dwellings)::bigint, sum(residents)
FROM classed WHERE depth_class IS NOT NULL
GROUP BY code, name, depth_class ORDER BY code, depth_class
"""


def raster_tiles(depth: np.ndarray, x0: float, y1: float, resolution: float) -> list[str]:
    """The grid as hex WKB rasters of RASTER_TILE² cells (float32, nodata 0), wholly dry
    tiles left out: what `raster2pgsql -t 100x100 -N 0` writes."""
    rows, cols = depth.shape
    tiles = []
    for r in range(0, rows, RASTER_TILE):
        for c in range(0, cols, RASTER_TILE):
            block = np.ascontiguousarray(depth[r : r + RASTER_TILE, c : c + RASTER_TILE])
            if not block.any():
                continue
            header = struct.pack(
                "<BHHddddddiHH", 1, 0, 1, resolution, -resolution, x0 + c * resolution,
                y1 - r * resolution, 0.0, 0.0, SRID, block.shape[1], block.shape[0],
            )  # fmt: skip
            band = struct.pack("<Bf", 0x40 | 10, 0.0)  # has nodata, 32-bit float
            tiles.append((header + band + block.astype("<f4").tobytes()).hex())
    return tiles


NULL = "\\N"  # COPY's text format
COPY_ROWS = 200_000  # rows per COPY statement: the client holds one chunk's text at a time


def _hex(array: pa.Array) -> pa.Array:
    """A binary array as hexadecimal text without a Python loop: one `bytes.hex()` of its
    values, the offsets doubled."""
    offsets = np.frombuffer(array.buffers()[1], np.int32, len(array) + 1, array.offset * 4)
    start, end = int(offsets[0]), int(offsets[-1])
    text = array.buffers()[2].to_pybytes()[start:end].hex().encode("ascii")
    return pa.StringArray.from_buffers(
        len(array), pa.py_buffer(((offsets - start) * 2).astype(np.int32)), pa.py_buffer(text)
    )


def _copy(cursor, table: str, rows: pa.Table) -> None:
    """COPY a table's rows in text format, built column-wise by Arrow: tab-separated, `\\N`
    for NULL, floats in their shortest round-tripping form, the geometry as hex EWKB (what
    `ogr2ogr` and `shp2pgsql -D` send)."""
    prefix = pa.scalar(f"SRID={SRID};")
    for chunk in rows.to_batches(COPY_ROWS):
        texts = [
            pc.binary_join_element_wise(prefix, _hex(column), "")
            if name == "geometry"
            else pc.fill_null(pc.cast(column, pa.string()), NULL)
            for name, column in zip(chunk.schema.names, chunk.columns, strict=True)
        ]
        fields = pc.binary_join_element_wise(*texts, "\t")
        lines = pc.binary_join_element_wise(fields, pa.scalar(""), "\n")  # each ends in \n
        end = int(np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1)[-1])
        stream = io.BytesIO(lines.buffers()[2].to_pybytes()[:end])  # offset 0: a new array
        cursor.copy_expert(f"COPY {table} FROM STDIN", stream, size=1 << 22)


def postgis_load(cursor, buildings: pa.Table, units: pa.Table, depth, grid: dict) -> None:
    """Tables created and filled in one transaction (no WAL for them at wal_level minimal)."""
    cursor.execute(SCHEMA.format(srid=SRID))
    _copy(cursor, "building", buildings.select(["id", "tile", "height", "geometry"]))
    _copy(cursor, "commune", units.select(["code", "name", "population", "geometry"]))
    tiles = raster_tiles(depth, grid["x0"], grid["y1"], grid["resolution"])
    _copy(cursor, "depth (rast)", pa.table({"rast": pa.array(tiles, pa.string())}))


def backend_peak_mb(pid: int) -> float | None:
    """The server backend's resident high-water mark (readable when run by root or the
    server's user)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def postgis_exposure(dsn: str, buildings, units, depth, grid: dict) -> dict:
    """Load, index and query on an empty PostGIS database: the rows and the stages' times."""
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(), current_setting('server_version'), postgis_lib_version()"
            )
            pid, server_version, postgis_version = cursor.fetchone()
            started = time.perf_counter()
            postgis_load(cursor, buildings, units, depth, grid)
            con.commit()
            loaded = time.perf_counter()
            cursor.execute(INDEXES)
            con.commit()
            indexed = time.perf_counter()
            cursor.execute(EXPOSURE, {"tile": TILE})
            rows = [list(r) for r in cursor.fetchall()]
            queried = time.perf_counter()
        return {
            "rows": rows,
            "load_s": loaded - started,
            "index_s": indexed - loaded,
            "query_s": queried - indexed,
            "backend_peak_mb": backend_peak_mb(pid),
            "versions": f"PostGIS {postgis_version} / PostgreSQL {server_version}",
        }
    finally:
        con.close()


def fresh_database(server: dict, name: str = "exposure") -> str:
    """An empty database with PostGIS and its raster extension; its libpq DSN."""
    import psycopg2

    con = psycopg2.connect(server["dsn"])
    con.autocommit = True
    with con.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    con.close()
    dsn = server["dsn"].replace(f"dbname={server['dbname']}", f"dbname={name}")
    con = psycopg2.connect(dsn)
    with con.cursor() as cursor:
        cursor.execute("CREATE EXTENSION postgis; CREATE EXTENSION postgis_raster")
    con.commit()
    con.close()
    return dsn


def prepare_postgis(folder: Path, server: dict, out: Path) -> tuple:
    import psycopg2  # noqa: F401

    buildings, units, _, depth, grid = read_inputs(folder)
    return fresh_database(server), buildings, units, depth, grid, out


def postgis(dsn: str, buildings, units, depth, grid, out: Path) -> None:
    out.write_text(json.dumps(postgis_exposure(dsn, buildings, units, depth, grid)))


# --- the same answer -----------------------------------------------------------------------


def same_answer(ours_rows: list[list], postgis_rows: list[list]) -> list[str]:
    """Differences between the two sides' rows (empty when they agree): buildings and
    dwellings exactly, residents to 1e-9 relative."""
    mine = {(r[0], r[2]): r for r in ours_rows}
    theirs = {(r[0], r[2]): r for r in postgis_rows}
    problems = [f"only ours: {k}" for k in mine.keys() - theirs.keys()]
    problems += [f"only PostGIS: {k}" for k in theirs.keys() - mine.keys()]
    for key in mine.keys() & theirs.keys():
        a, b = mine[key], theirs[key]
        if a[1] != b[1] or a[3:5] != b[3:5] or not math.isclose(a[5], b[5], rel_tol=1e-9):
            problems.append(f"{key}: ours {a[1:]} PostGIS {b[1:]}")
    return sorted(problems)


def main() -> None:
    from tests.services.postgres import postgis_installed, running_postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not postgis_installed():
        sys.exit("PostGIS is not installed: apt-get install postgresql-15-postgis-3")
    with tempfile.TemporaryDirectory(prefix="jnft-exposure-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        made = departement(folder, args.buildings)
        print(f"data: {made} in {time.perf_counter() - started:.1f} s", flush=True)
        with running_postgres(settings=SERVER_SETTINGS) as server:
            mine, theirs = folder / "ours.json", folder / "postgis.json"
            stages: dict[str, list[float]] = {"load_s": [], "index_s": [], "query_s": []}
            backend: list[float] = []

            def collect() -> None:  # the previous PostGIS run's stages, before the next
                if theirs.exists():
                    answer = json.loads(theirs.read_text())
                    for name in stages:
                        stages[name].append(answer[name])
                    if answer["backend_peak_mb"] is not None:
                        backend.append(answer["backend_peak_mb"])
                    theirs.rename(folder / "postgis-last.json")

            print("ours vs PostGIS 3 (load + index + query)", flush=True)
            measured = harness.compare(
                (prepare_ours, ours, (folder, mine)),
                (prepare_postgis, postgis, (folder, server, theirs)),
                args.repeats,
                setup=collect,
            )
            collect()
        ours_rows = json.loads(mine.read_text())["rows"]
        last = json.loads((folder / "postgis-last.json").read_text())
        postgis_rows, versions = last["rows"], last["versions"]
    problems = same_answer(ours_rows, postgis_rows)
    exposed = sum(r[3] for r in ours_rows)
    print(
        f"same answer: {len(ours_rows)} rows (commune × depth class), {exposed} buildings "
        f"exposed; ours vs PostGIS: {'identical' if not problems else problems[:10]}"
    )
    assert not problems, f"{len(problems)} rows differ"
    median = {name: float(np.median(values)) for name, values in stages.items()}
    result = harness.record(
        "exposure.buildings_by_commune_and_depth",
        "buildings per second, from the Arrow layers to the exposure rows",
        "buildings/s",
        measured,
        (args.buildings, args.buildings),
        f"{versions}: COPY + ST_Subdivide + GiST + ANALYZE, then one query",
        {
            **made,
            "raster_tile": RASTER_TILE,
            "commune_subdivide_vertices": SUBDIVIDE,
            "server_settings": SERVER_SETTINGS,
        },
        baseline_stages_s={k: round(v, 3) for k, v in median.items()},
        baseline_server_backend_peak_rss_mb=round(float(np.median(backend))) if backend else None,
        rows_compared=len(ours_rows),
        buildings_exposed=exposed,
        same_answer=True,
    )
    print(
        f"ours     {result['seconds']['ours']:8.2f} s  {result['ours']:>10,} buildings/s  "
        f"peak {result['peak_rss_mb']} MB\n"
        f"PostGIS  {result['seconds']['baseline']:8.2f} s  {result['baseline']:>10,} "
        f"buildings/s  client peak {result['baseline_peak_rss_mb']} MB, server backend "
        f"peak {result['baseline_server_backend_peak_rss_mb']} MB\n"
        f"         load {median['load_s']:.2f} s + index {median['index_s']:.2f} s + query "
        f"{median['query_s']:.2f} s\n"
        f"ratio {result['ratio']:.2f}× (goal ≥ 3×)"
    )
    print(f"written {harness.write('exposure', [result])}")


if __name__ == "__main__":
    main()
