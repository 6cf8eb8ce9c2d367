"""France, projected from measured tiles: what each tile-partitioned asset costs on a tile
(seconds, CPU, peak memory, bytes written), then core-hours, wall time on N workers and storage
for metropolitan France.

Each step is the asset itself: `dg.materialize` of one partition in a fresh spawned process
(harness), on a lakehouse in a temporary folder whose bronze is landed beforehand, untimed.
Two sizes of each, measured in the same run, so that the cost per row, cell or point shows:

- baseline: the small sample territory (`jnft.sampledata`, SMALL, 4 km × 2 km) on one tile;
- realistic: a dense urban 10 km tile of buildings (generated in the fiche's own columns:
  `--dense-buildings`, 100,000 by default, the order of Paris intra-muros's BD TOPO buildings
  on its 105 km², about one tile), a full 5 m DEM tile of 2000 × 2000 cells and its river and
  coastal floods (the full sample territory, 20 km × 10 km, generated), the real IGN LiDAR HD
  1 km tile of ../shared/data (the sample's generated tile when it is absent), the same tile
  densified to LiDAR HD's nominal 10 points/m², and a whole 10 km tile of 10 × 10 copies of it.

The project is a copy of this one whose fiches' declared extent (C6) is metropolitan France,
so that tiles anywhere are in scope. Flood screening (fill, D8, HAND) is not an asset of its
own: it runs inside the flood step (its `screening_depth` COG) and is counted there.

Run: `python bench/national.py [--workers 1 8 64 512] [...]`; writes
bench/results/national.json and prints the projection as a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JNFT_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_LIDAR = "ign-pdal-tools__test_semis_2023_0292_6833_LA93_IGN69.laz"
FRANCE_BBOX = [100_000.0, 6_040_000.0, 1_250_000.0, 7_120_000.0]
DENSE_TILE = "0650_6870"  # central Paris
BASE_TILE = "0390_6550"  # the sample's town, on its valley
COAST_TILE = "0380_6550"  # the sample's estuary and coast
TILE_CELLS_5M = (10_000 // 5) ** 2
LIDAR_FILES_PER_TILE = 100  # 1 km files in a 10 km tile


# --- the project, the sources ---------------------------------------------------------------


def national_project(folder: Path) -> Path:
    """A copy of this project whose fiches in Lambert-93 declare France's extent."""
    import yaml

    for part in ("concepts", "scenarios", "sql"):
        shutil.copytree(REPO / part, folder / part)
    for path in (folder / "concepts").glob("*.yaml"):
        fiche = yaml.safe_load(path.read_text(encoding="utf-8"))
        extent = fiche.get("criteria", {}).get("c06_extent", {})
        if extent.get("bbox") and extent.get("crs") == "EPSG:2154":
            extent["bbox"] = FRANCE_BBOX
            path.write_text(yaml.safe_dump(fiche, allow_unicode=True, sort_keys=False), "utf-8")
    return folder


def fiche_of(concept: str):
    from jnft.quality.fiche import load_fiche
    from jnft.settings import load_settings

    return load_fiche(load_settings().concepts / f"{concept}.yaml")


def delivery_path(sources: Path, pattern: str, name: str) -> Path:
    """Where a delivery of `name` lands under `sources` so that the fiche's pattern (globs
    `*`) finds it: every `*` is the name."""
    return sources / pattern.replace("*", name)


def dense_buildings(sources: Path, concept: str, count: int, tile: str, seed: int = 0) -> Path:
    """A BD TOPO-like delivery of `count` footprints on a lattice over the tile, with the
    columns, types and ranges the fiche declares (nothing named here)."""
    import pyarrow as pa
    import pyogrio
    import shapely

    from jnft.tiles import tile_bounds

    fiche = fiche_of(concept)
    spec, ranges = fiche.spec, fiche.criteria.c09_quality.ranges or {}
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, _ = tile_bounds(tile)
    side = math.ceil(math.sqrt(count))
    step = (xmax - xmin) / side
    slot = np.arange(count)
    x = xmin + (slot % side) * step + rng.uniform(0, 0.2 * step, count)
    y = ymin + (slot // side) * step + rng.uniform(0, 0.2 * step, count)
    w, h = rng.uniform(0.25, 0.75, (2, count)) * step
    footprints = shapely.multipolygons(
        shapely.get_parts(shapely.box(x, y, x + w, y + h)), indices=slot
    )
    columns: dict[str, pa.Array] = {}
    for name, kind in spec.columns.items():
        low, high = (ranges.get(name) or [0, 100])[:2]
        high = low + (high - low) / 10  # realistic values sit in the low part of the range
        if name == spec.id_column:
            columns[name] = pa.array([f"{concept.upper()}{i:016d}" for i in slot])
        elif kind == "string":
            columns[name] = pa.array([f"{name} {i}" for i in rng.integers(0, 8, count)])
        elif kind in ("int32", "int64"):
            columns[name] = pa.array(rng.integers(low, max(high, low + 1), count).astype(kind))
        elif kind in ("float32", "float64"):
            columns[name] = pa.array(np.round(rng.uniform(low, high, count), 1).astype(kind))
        elif kind == "bool":
            columns[name] = pa.array(rng.random(count) < 0.5)
        elif kind == "date":
            days = rng.integers(0, 9000, count).astype("timedelta64[D]")
            columns[name] = pa.array(np.datetime64("2000-01-01") + days)
    columns["geometry"] = pa.array(list(shapely.to_wkb(footprints)), pa.binary())
    vintage = dt.date(2025, 3, 15).isoformat()
    path = delivery_path(sources, fiche.source.pattern, f"DENSE_{vintage}")
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_arrow(
        pa.table(columns),
        path,
        layer=fiche.source.layer,
        driver="GPKG",
        geometry_name="geometry",
        geometry_type=spec.geometry_type,
        crs=fiche.source.crs,
    )
    return path


def lidar_source() -> tuple[Path, str]:
    real = SHARED / "lidar" / REAL_LIDAR
    if real.exists():
        return real, f"IGN LiDAR HD {REAL_LIDAR} (real, {SHARED / 'lidar'})"
    print(f"real LiDAR HD tile absent ({real}): using the sample territory's generated tile")
    from jnft.sampledata.generate import generate

    folder = Path(tempfile.mkdtemp(prefix="jnft-national-lidar-"))
    generate(folder)
    return next(folder.glob("lidar_hd/*/*.laz")), "generated sample tile (real one absent)"


def write_lidar(
    tile: Path, out_dir: Path, pattern: str, vintage: str, copies: int = 1, stack: int = 1
) -> tuple[int, list[str]]:
    """`copies` × `copies` 1 km files of the tile's points (1 km apart), each holding `stack`
    copies jittered by up to a metre (the density × `stack`); returns (points, 10 km tiles)."""
    import laspy

    from jnft.tiles import tiles_of_points

    with laspy.open(tile) as reader:
        points = reader.read().points
        header = reader.header
    # The file's own 1 km square, and the corner of the 10 km tile holding it: the copies
    # are laid from that corner, so that a 10 × 10 grid fills that one tile.
    px0 = float(np.floor(header.mins[0] / 1000) * 1000)
    py0 = float(np.floor(header.mins[1] / 1000) * 1000)
    x0, y0 = np.floor(px0 / 10_000) * 10_000, np.floor(py0 / 10_000) * 10_000
    rng = np.random.default_rng(0)
    total, tiles = 0, set()
    for i in range(copies):
        for j in range(copies):
            east, north = x0 + i * 1000, y0 + j * 1000
            name = f"{round(east) // 1000:04d}_{round(north) // 1000 + 1:04d}"
            path = delivery_path(out_dir, pattern, f"FXX_{name}_{vintage}")
            path = path.with_name(path.name.replace(f"_{vintage}", "", 1))
            path.parent.mkdir(parents=True, exist_ok=True)
            out = laspy.LasHeader(point_format=header.point_format, version=header.version)
            out.scales, out.offsets = header.scales, header.offsets
            for vlr in header.vlrs:
                out.vlrs.append(vlr)
            with laspy.open(path, mode="w", header=out, do_compress=True) as writer:
                for _ in range(stack):
                    shifted = laspy.ScaleAwarePointRecord(
                        points.array.copy(), points.point_format, points.scales, points.offsets
                    )
                    jitter = rng.uniform(-1, 1, (2, len(points))) if stack > 1 else (0, 0)
                    shifted.x = np.clip(points.x + east - px0 + jitter[0], east, east + 999.99)
                    shifted.y = np.clip(points.y + north - py0 + jitter[1], north, north + 999.99)
                    writer.write_points(shifted)
                    total += len(shifted)
            tiles.update(tiles_of_points(np.array([east + 500]), np.array([north + 500])))
    return total, sorted(tiles)


# --- one step, in its own process -----------------------------------------------------------


def prepare_step(
    lake: str, sources: str, key: list[str], partition: dict | str, tiles: list, figures: str
) -> tuple:
    started = time.perf_counter()
    import dagster as dg

    from jnft.orchestration.definitions import defs
    from jnft.orchestration.partitions import register, register_tiles, scenarios_partitions
    from jnft.orchestration.resources import LakehouseResource

    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, tiles)
    if isinstance(partition, dict):
        register(instance, [partition["scenario"]], scenarios_partitions)
        partition = dg.MultiPartitionKey(partition)
    resource = LakehouseResource(root=lake, sources=sources)
    # What a run pays before its first tile: imports and the code location's definitions.
    startup = time.perf_counter() - started
    return defs, instance, resource, dg.AssetKey(key), partition, figures, startup


def step(defs, instance, resource, key, partition, figures: str, startup: float) -> None:
    from jnft.orchestration.demo import materialize_quietly

    before = os.times()
    result = materialize_quietly(
        list(defs.assets or []),
        instance,
        {"lakehouse": resource},
        selection=[key],
        partition_key=partition,
    )
    after = os.times()
    assert result.success, f"{key.to_user_string()} {partition} failed"
    (event,) = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    numbers = {k: v.value for k, v in metadata.items() if isinstance(v.value, int | float)}
    cpu = (after.user - before.user) + (after.system - before.system)
    Path(figures).write_text(json.dumps({"cpu_s": cpu, "startup_s": startup, **numbers}))


def tree_bytes(folder: Path) -> dict[str, int]:
    """Bytes of the files under each top-level folder (bronze, silver, gold)."""
    sizes: dict[str, int] = {}
    if not folder.exists():
        return sizes
    for zone in folder.iterdir():
        if zone.is_dir():
            sizes[zone.name] = sum(
                f.stat().st_size for f in zone.rglob("*") if f.is_file() and not f.is_symlink()
            )
    return sizes


@dataclass
class Territory:
    """A lakehouse and its sources, with the tiles they cover."""

    sources: Path
    lake: Path
    tiles: list[str]

    def land(self, *source_names: str) -> None:
        """Land deliveries in bronze (untimed, in this process)."""
        import dagster as dg

        from jnft.assets.factory import bronze_key
        from jnft.orchestration.definitions import defs
        from jnft.orchestration.demo import materialize_quietly

        result = materialize_quietly(
            list(defs.assets or []),
            dg.DagsterInstance.ephemeral(),
            {"lakehouse": self.resource()},
            selection=[bronze_key(s) for s in source_names],
        )
        assert result.success, f"landing {source_names} failed"

    def resource(self):
        from jnft.orchestration.resources import LakehouseResource

        return LakehouseResource(root=str(self.lake), sources=str(self.sources))

    def measure(self, label: str, key: list[str], partition, work: dict) -> dict:
        figures = self.lake.parent / "figures.json"
        before = tree_bytes(self.lake)
        task = (
            prepare_step,
            step,
            (str(self.lake), str(self.sources), key, partition, self.tiles, str(figures)),
        )
        seconds, peak = harness.measure(task)
        after = tree_bytes(self.lake)
        numbers = json.loads(figures.read_text())
        written = {z: after.get(z, 0) - before.get(z, 0) for z in after}
        result = {
            "case": label,
            "asset": "/".join(key),
            "partition": partition,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(numbers["cpu_s"], 2),
            "run_startup_seconds": round(numbers["startup_s"], 2),
            "peak_rss_mb": round(peak),
            "bytes_written": {z: b for z, b in written.items() if b},
            "bronze_bytes": before.get("bronze", 0),
            **work,
            "metadata": {
                k: numbers[k] for k in ("domain_cells", "dagster/row_count") if k in numbers
            },
        }
        print(
            f"  {label:34s} {result['asset']:22s} {seconds:7.1f} s  cpu {numbers['cpu_s']:7.1f} s"
            f"  peak {peak:6.0f} MB  wrote {sum(written.values()) / 1e6:8.1f} MB",
            flush=True,
        )
        return result


def current_rows(territory: Territory, concept: str, tile: str):
    from jnft.lakehouse.history import current
    from jnft.lakehouse.store import Lakehouse

    store = Lakehouse.at(territory.lake)
    return current(
        store.table_uri(concept, "versions"), store.table_uri(concept, "closures"), [tile]
    )


def sample_territory(folder: Path, small: bool) -> Territory:
    from jnft.orchestration.partitions import territory_tiles
    from jnft.sampledata.generate import generate
    from jnft.sampledata.territory import SMALL, SampleTerritory

    sources = folder / "sources"
    generate(sources, SMALL if small else SampleTerritory())
    return Territory(sources, folder / "lakehouse", territory_tiles(sources))


def materialize_layers(territory: Territory) -> None:
    """Every layer of the territory (untimed): what a flood reads."""
    import dagster as dg

    from jnft.orchestration.definitions import defs
    from jnft.orchestration.demo import materialize_all
    from jnft.orchestration.partitions import register_tiles

    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, territory.tiles)
    results = materialize_all(instance, defs, territory.tiles, {"lakehouse": territory.resource()})
    assert all(r.success for r in results), "the layers of the sample territory failed"


# --- measuring ------------------------------------------------------------------------------


def measure_sample(folder: Path, small: bool, label: str, scenarios: dict) -> dict[str, dict]:
    """Buildings, DEM, LiDAR and floods of a tile of a sample territory, by name."""
    t = sample_territory(folder, small)
    t.land(*{fiche_of(c).source.name for c in ("batiment", "mnt", "nuage_lidar")})
    results = {}
    results["batiment"] = t.measure(label, ["silver", "batiment"], BASE_TILE, {})
    results["batiment"]["rows"] = current_rows(t, "batiment", BASE_TILE).num_rows
    results["mnt"] = t.measure(label, ["silver", "mnt"], BASE_TILE, {})
    results["mnt"]["cells"] = sum(current_rows(t, "mnt", BASE_TILE)["valid_cells"].to_pylist())
    lidar_tile = tile_of_lidar(t)
    results["nuage_lidar"] = t.measure(label, ["silver", "nuage_lidar"], lidar_tile, {})
    indexed = current_rows(t, "nuage_lidar", lidar_tile)
    results["nuage_lidar"].update(points=sum(indexed["point_count"].to_pylist()), files=1)
    materialize_layers(t)
    for kind, (scenario, tile) in scenarios.items():
        shutil.rmtree(t.lake / "gold" / "simulation" / scenario, ignore_errors=True)  # cold
        flood = {"scenario": scenario, "tile": tile}
        result = t.measure(label, ["simulation", "flood"], flood, {})
        result["cells"] = result["metadata"].get("domain_cells")
        results[f"flood.{kind}"] = result
    shutil.rmtree(folder, ignore_errors=True)
    return results


def tile_of_lidar(t: Territory) -> str:
    import laspy

    from jnft.tiles import tiles_of_points

    laz = next(t.sources.glob("lidar_hd/*/*.laz"))

    with laspy.open(laz) as reader:
        mins = reader.header.mins
    return str(tiles_of_points(np.array([mins[0] + 1]), np.array([mins[1] + 1]))[0])


def measure_dense(folder: Path, count: int) -> dict:
    sources = folder / "sources"
    dense_buildings(sources, "batiment", count, DENSE_TILE)
    t = Territory(sources, folder / "lakehouse", [DENSE_TILE])
    t.land(fiche_of("batiment").source.name)
    result = t.measure("realistic: dense urban tile", ["silver", "batiment"], DENSE_TILE, {})
    result["rows"] = current_rows(t, "batiment", DENSE_TILE).num_rows
    shutil.rmtree(folder, ignore_errors=True)
    return result


def measure_lidar(folder: Path, label: str, copies: int, stack: int) -> dict:
    tile, origin = lidar_source()
    fiche = fiche_of("nuage_lidar")
    sources = folder / "sources"
    vintage = "2023-06-30"
    points, tiles = write_lidar(tile, sources, fiche.source.pattern, vintage, copies, stack)
    t = Territory(sources, folder / "lakehouse", tiles)
    t.land(fiche.source.name)
    (partition,) = tiles
    result = t.measure(label, ["silver", "nuage_lidar"], partition, {})
    result.update(points=points, files=copies * copies, source=origin)
    shutil.rmtree(folder, ignore_errors=True)
    return result


# --- projecting -----------------------------------------------------------------------------


def linear(small: dict, large: dict, unit: str, value: str) -> tuple[float, float]:
    """(per tile, per unit) of `value` through two measured sizes; a negative intercept
    (noise on small work) is taken as 0."""
    slope = (large[value] - small[value]) / max(large[unit] - small[unit], 1)
    return max(large[value] - slope * large[unit], 0.0), max(slope, 0.0)


def scaled(small: dict, large: dict, unit: str, tasks: float, units: float) -> dict:
    """CPU and worker seconds of `tasks` tiles holding `units` in all, per tile + per unit."""
    cpu, wall = (linear(small, large, unit, v) for v in ("cpu_seconds", "seconds"))
    return dict(
        cpu_s=tasks * cpu[0] + units * cpu[1],
        worker_s=tasks * wall[0] + units * wall[1],
        basis=f"{cpu[0]:.2f} s/tile + {cpu[1] * 1e6:.3g} µs/{unit[:-1]} of CPU",
    )


def written(result: dict, zone: str | None = None) -> int:
    b = result["bytes_written"]
    return b.get(zone, 0) if zone else sum(b.values())


def project(results: dict, args) -> dict:
    """France from the measured tiles, with every assumption beside its figure."""
    tiles = args.tiles
    startup = max(r["run_startup_seconds"] for r in results.values())
    rows = {}

    small, dense = results["batiment.sample"], results["batiment.dense"]
    rows["buildings (batiment)"] = dict(
        tasks=tiles,
        **scaled(small, dense, "rows", tiles, args.buildings),
        task_s=dense["seconds"],
        peak_mb=dense["peak_rss_mb"],
        silver=args.buildings * written(dense, "silver") / dense["rows"],
        bronze=args.buildings * dense["bronze_bytes"] / dense["rows"],
        change=args.vector_change,
        per_year=args.vector_vintages_per_year,
    )

    small, full = results["mnt.sample"], results["mnt.realistic"]
    cells = tiles * TILE_CELLS_5M
    rows["DEM 5 m (mnt)"] = dict(
        tasks=tiles,
        **scaled(small, full, "cells", tiles, cells),
        task_s=full["seconds"],
        peak_mb=full["peak_rss_mb"],
        silver=cells * written(full, "silver") / full["cells"],
        bronze=cells * full["bronze_bytes"] / full["cells"],
        change=1.0,  # a new DEM vintage rewrites the tiles it covers
        per_year=args.dem_vintages_per_year,
    )

    # LiDAR: the 10 km tile of 100 delivered files measured whole (its 1 m grids), the points
    # a nominal tile holds beyond it at the per-point cost of the delivered vs densified file.
    thin, nominal, grid = (results[f"nuage_lidar.{k}"] for k in ("real", "nominal", "grid"))
    cpu_point = linear(thin, nominal, "points", "cpu_seconds")[1]
    wall_point = linear(thin, nominal, "points", "seconds")[1]
    points_per_tile = args.lidar_points_per_file * LIDAR_FILES_PER_TILE
    extra = max(points_per_tile - grid["points"], 0)
    lidar_tiles = args.lidar_files / LIDAR_FILES_PER_TILE
    rows["LiDAR HD (nuage_lidar)"] = dict(
        tasks=lidar_tiles,
        cpu_s=lidar_tiles * (grid["cpu_seconds"] + extra * cpu_point),
        worker_s=lidar_tiles * (grid["seconds"] + extra * wall_point),
        basis=f"{grid['cpu_seconds']:.0f} s per 10 km tile of {grid['points']:,} points + "
        f"{cpu_point * 1e6:.3g} µs/point up to {points_per_tile:.0e} points, of CPU",
        task_s=grid["seconds"] + extra * wall_point,
        peak_mb=grid["peak_rss_mb"],
        silver=lidar_tiles * written(grid, "silver"),
        bronze=args.lidar_files
        * args.lidar_points_per_file
        * nominal["bronze_bytes"]
        / nominal["points"],
        change=1.0,
        per_year=args.lidar_vintages_per_year,
    )

    for kind, count, name in (
        ("river", tiles * args.river_share * args.river_scenarios, "floods, river"),
        ("coastal", args.coastal_tiles * args.coastal_scenarios, "floods, coastal"),
    ):
        flood = results[f"flood.{kind}.realistic"]
        rows[name] = dict(
            tasks=count,
            cpu_s=count * flood["cpu_seconds"],
            worker_s=count * flood["seconds"],
            basis=f"{flood['cpu_seconds']:.0f} s of CPU per scenario × tile "
            f"(domain {flood['cells']:,} cells)",
            task_s=flood["seconds"],
            peak_mb=flood["peak_rss_mb"],
            silver=count * written(flood),
            bronze=0,
            change=1.0,
            per_year=args.flood_reruns_per_year,
        )

    layers = [k for k in rows if not k.startswith("floods")]
    for name, row in rows.items():
        batch = args.tiles_per_run if name in layers else 1
        row["runs"] = math.ceil(row["tasks"] / batch)
        row["longest_run_s"] = row["task_s"] * batch + startup
        row["cpu_s"] += row["runs"] * startup  # each run imports and loads the definitions
        row["worker_s"] += row["runs"] * startup
        row["core_hours"] = row["cpu_s"] / 3600
        row["stored"] = row["silver"] + row["bronze"]
        # A new vintage: its delivery lands whole in bronze, the history adds changed rows.
        row["per_version"] = row["change"] * row["silver"] + row["bronze"]
    wall = {}
    for n in args.workers:
        # Layers, then floods; within a stage the runs share the n workers, and no stage ends
        # before its longest run.
        seconds = 0.0
        for stage in (layers, [k for k in rows if k not in layers]):
            busy = sum(rows[k]["worker_s"] for k in stage) / n
            seconds += max(busy, *(rows[k]["longest_run_s"] for k in stage))
        wall[n] = seconds / 3600
    return {
        "rows": rows,
        "total_core_hours": sum(r["core_hours"] for r in rows.values()),
        "wall_hours": wall,
        "worker_memory_mb": max(r["peak_mb"] for r in rows.values()),
        "run_startup_seconds": startup,
    }


def markdown(projection: dict, args) -> str:
    rows, gb = projection["rows"], 1e9
    lines = [
        "| asset | tasks | core-hours | one task (s) | peak per task | stored (TB) | "
        "per version (TB) | versions / year | basis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['tasks']:,.0f} | {r['core_hours']:,.0f} | {r['task_s']:,.0f} | "
            f"{r['peak_mb'] / 1024:.1f} GB | {r['stored'] / gb / 1e3:.2f} | "
            f"{r['per_version'] / gb / 1e3:.2f} | {r['per_year']:g} | {r['basis']} |"
        )
    total = sum(r["stored"] for r in rows.values())
    lines.append(
        f"| **France** | | **{projection['total_core_hours']:,.0f}** | | "
        f"{projection['worker_memory_mb'] / 1024:.1f} GB | **{total / gb / 1e3:.2f}** | | | |"
    )
    walls = ", ".join(
        f"{n} worker{'s' if n > 1 else ''}: {h:,.1f} h" for n, h in projection["wall_hours"].items()
    )
    return "\n".join(lines) + f"\n\nWall time (layers, then floods): {walls}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=5_500, help="10 km tiles of France")
    parser.add_argument("--buildings", type=float, default=43e6, help="BD TOPO buildings")
    parser.add_argument("--dense-buildings", type=int, default=100_000)
    parser.add_argument("--lidar-files", type=int, default=550_000, help="LiDAR HD 1 km tiles")
    parser.add_argument("--lidar-points-per-file", type=float, default=10e6,
                        help="10 points/m², LiDAR HD's nominal density")  # fmt: skip
    parser.add_argument("--lidar-grid", type=int, default=10, help="files per side, 10 km tile")
    parser.add_argument("--river-share", type=float, default=0.5,
                        help="share of tiles with a river flood studied")  # fmt: skip
    parser.add_argument("--river-scenarios", type=int, default=3)
    parser.add_argument("--coastal-tiles", type=int, default=500)
    parser.add_argument("--coastal-scenarios", type=int, default=2)
    parser.add_argument("--vector-change", type=float, default=0.05,
                        help="share of a layer's rows changed by a new vintage")  # fmt: skip
    parser.add_argument("--vector-vintages-per-year", type=float, default=4,
                        help="BD TOPO: quarterly (its fiche's c03 P3M)")  # fmt: skip
    parser.add_argument("--dem-vintages-per-year", type=float, default=0.2)
    parser.add_argument("--lidar-vintages-per-year", type=float, default=0.2,
                        help="LiDAR HD: its fiche's c03 P5Y")  # fmt: skip
    parser.add_argument("--flood-reruns-per-year", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64, 512])
    args = parser.parse_args()
    from jnft.assets.factory import LAYER_TILES_PER_RUN

    args.tiles_per_run = LAYER_TILES_PER_RUN

    work = Path(tempfile.mkdtemp(prefix="jnft-national-"))
    # Every process (this one, each spawned step) loads the France-wide copy of the project.
    os.environ["JNFT_PROJECT_DIR"] = str(national_project(work / "project"))
    results: dict[str, dict] = {}
    try:
        print("baseline: the small sample territory (SMALL), tile by tile", flush=True)
        floods = {"river": ("crue_q100", BASE_TILE), "coastal": ("submersion_tempete_slr60",
                                                                 COAST_TILE)}  # fmt: skip
        sample = measure_sample(work / "small", True, "baseline: sample tile (SMALL)", floods)
        results |= {f"{k}.sample": r for k, r in sample.items()}
        print("realistic: a 5 m DEM tile, floods of a full tile (the full sample)", flush=True)
        full = measure_sample(work / "full", False, "realistic: full 10 km tile", floods)
        results |= {f"{k}.realistic": r for k, r in full.items()}
        print(f"realistic: a dense urban tile of {args.dense_buildings:,} buildings", flush=True)
        results["batiment.dense"] = measure_dense(work / "dense", args.dense_buildings)
        print("realistic: LiDAR HD, the real tile, densified, a 10 km tile of it", flush=True)
        stack = max(1, round(args.lidar_points_per_file / 289_055))
        results["nuage_lidar.real"] = measure_lidar(work / "lidar1", "realistic: LiDAR 1 km", 1, 1)
        results["nuage_lidar.nominal"] = measure_lidar(
            work / "lidar2", f"realistic: LiDAR 1 km × {stack} density", 1, stack
        )
        results["nuage_lidar.grid"] = measure_lidar(
            work / "lidar3", f"realistic: LiDAR 10 km ({args.lidar_grid}² files)", args.lidar_grid,
            1,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    projection = project(results, args)
    table = markdown(projection, args)
    print()
    print(table)
    assumptions = {k: v for k, v in vars(args).items() if k not in ("workers",)} | {
        "lidar_files_per_10km_tile": LIDAR_FILES_PER_TILE,
        "dem_cells_per_tile": TILE_CELLS_5M,
        "worker": "one process of the size measured here (2 cores shared); a run's startup "
        "(imports, definitions) paid once per run; layers batched by tiles_per_run",
    }
    out = {
        "name": "national",
        "metric": "per-tile cost of each asset, projected to France",
        "baseline_name": "the same assets on a tile of the small sample territory (SMALL)",
        "measured": results,
        "projection": projection,
        "assumptions": assumptions,
        "table_markdown": table,
        "machine": harness.machine(),
    }
    print(f"written {harness.write('national', [out])}")


if __name__ == "__main__":
    main()
