"""LiDAR decoding and rasterization to DTM + DSM.

A LAZ of ≥ 10 M points is made by tiling a real IGN LiDAR HD tile (../shared/data/lidar; a
generated tile of the sample territory when the real samples are absent) 6 × 6 times, 1 km
apart. Both sides produce a 1 m DTM (mean of ground and water points) and DSM (highest
non-noise point) over the same 6 × 6 km grid:

- ours: the fiche's pipelines run by the streamed engine (chunks of 2 M points, only X/Y/Z/
  classification decompressed, Numba binning), gap filling off so that the work is the same;
- baseline: `laspy.read` of the whole file + NumPy binning (`bincount` mean, `maximum.at` max).

Also reported: ours with the fiche's gap filling, and ours on a file of half the points over
the same area, whose peak memory shows that memory follows the grid and the chunk, not the
file.

Run: `python bench/ingest_lidar.py [--copies N] [--repeats R]`; writes
bench/results/ingest_lidar.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SHARED = Path(
    os.environ.get("JNFT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
REAL_TILE = "ign-pdal-tools__test_semis_2023_0292_6833_LA93_IGN69.laz"
RESOLUTION = 1.0
CHUNK = 2_000_000


def source_tile(work: Path) -> tuple[Path, str]:
    """The tile to repeat: the real LiDAR HD sample, else a generated one."""
    real = SHARED / "lidar" / REAL_TILE
    if real.exists():
        return real, f"IGN LiDAR HD {REAL_TILE}"
    from jnft.sampledata.generate import generate

    generate(work / "sample")
    return next((work / "sample").glob("lidar_hd/*/*.laz")), "generated sample tile"


def tile_laz(
    tile: Path, out: Path, copies: int, thin: int = 1
) -> tuple[int, tuple[float, float, float, float]]:
    """Write `copies` × `copies` shifted copies of a 1 km tile (every `thin`-th point) into
    one LAZ, streamed."""
    import laspy

    with laspy.open(tile) as reader:
        points = reader.read().points[::thin]
        header = reader.header
    x0 = float(np.floor(header.mins[0] / 1000) * 1000)
    y0 = float(np.floor(header.mins[1] / 1000) * 1000)
    out_header = laspy.LasHeader(point_format=header.point_format, version=header.version)
    out_header.scales = header.scales
    out_header.offsets = header.offsets
    for vlr in header.vlrs:
        out_header.vlrs.append(vlr)
    total = 0
    with laspy.open(out, mode="w", header=out_header, do_compress=True) as writer:
        for i in range(copies):
            for j in range(copies):
                shifted = laspy.ScaleAwarePointRecord(
                    points.array.copy(), points.point_format, points.scales, points.offsets
                )
                shifted.x = points.x + i * 1000.0
                shifted.y = points.y + j * 1000.0
                writer.write_points(shifted)
                total += len(shifted)
    bounds = (x0, y0, x0 + copies * 1000.0, y0 + copies * 1000.0)
    return total, bounds


def _products(window_size: int):
    from jnft.formats.pdal import parse_pipeline
    from jnft.quality.fiche import load_fiche
    from jnft.settings import CONCEPTS_DIR

    fiche = load_fiche(CONCEPTS_DIR / "nuage_lidar.yaml")
    products = {}
    for name, stages in fiche.spec.products.items():
        stages = [dict(s) for s in stages]
        stages[-1]["window_size"] = window_size
        products[name] = parse_pipeline(stages, default_resolution=RESOLUTION)
    return products


def _grid(bounds):
    from jnft.formats.pointcloud import GridWindow

    x0, y0, x1, y1 = bounds
    half = RESOLUTION / 2
    return GridWindow.from_bounds((x0 - half, y0 + half, x1 - half, y1 + half), RESOLUTION)


def prepare_ours(path: Path, bounds, window_size: int) -> tuple:
    from jnft.formats.pointcloud import read_info

    info = read_info(path)
    products = _products(window_size)
    _warm_up(products)
    return [(path, info.bounds)], products, _grid(bounds)


def _warm_up(products) -> None:
    """Compile the Numba kernels before timing (cached on disk after the first run)."""
    from jnft.formats.pointcloud import Accumulator, GridWindow

    for operation in ("mean", "max"):
        acc = Accumulator(GridWindow(0, 1, 1.0, 1, 1), operation)
        acc.add(np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1, bool))


def ours(files, products, grid) -> None:
    from jnft.formats.pdal import rasterize_tile

    result = rasterize_tile(files, products, grid, CHUNK)
    assert not result.failures, result.failures


def prepare_baseline(path: Path, bounds) -> tuple:
    import laspy  # noqa: F401  (imported before timing)

    return path, _grid(bounds)


def baseline(path: Path, grid) -> None:
    """Read everything, then bin with NumPy: the obvious script."""
    import laspy

    las = laspy.read(path)
    x, y, z = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
    classification = np.asarray(las.classification)
    col = np.floor((x - grid.x0) / grid.resolution).astype(np.int64)
    row = np.floor((grid.y1 - y) / grid.resolution).astype(np.int64)
    inside = (col >= 0) & (col < grid.cols) & (row >= 0) & (row < grid.rows)
    cell = row * grid.cols + col
    cells = grid.rows * grid.cols
    ground = inside & np.isin(classification, (2, 9, 66))
    counts = np.bincount(cell[ground], minlength=cells)
    sums = np.bincount(cell[ground], weights=z[ground], minlength=cells)
    dtm = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    surface = inside & ~np.isin(classification, (7, 18, 65))
    dsm = np.full(cells, -np.inf)
    np.maximum.at(dsm, cell[surface], z[surface])
    assert np.isfinite(dtm).any() and np.isfinite(dsm).any()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="tile copies per side")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jnft-bench-lidar-"))
    try:
        tile, origin = source_tile(work)
        laz = work / "tiled.laz"
        print(f"tiling {origin} {args.copies}×{args.copies} into {laz} ...", flush=True)
        points, bounds = tile_laz(tile, laz, args.copies)
        half = work / "half.laz"
        half_points, _ = tile_laz(tile, half, args.copies, thin=2)
        size_mb = laz.stat().st_size / 1e6
        print(f"{points:,} points, {size_mb:.0f} MB; grid {_grid(bounds).cols}² cells at 1 m")
        measured = harness.compare(
            (prepare_ours, ours, (laz, bounds, 0)),
            (prepare_baseline, baseline, (laz, bounds)),
            args.repeats,
        )
        print("ours with the fiche's gap filling (window_size 20), and on half the points")
        filled = harness.measure((prepare_ours, ours, (laz, bounds, 20)))
        smaller = harness.measure((prepare_ours, ours, (half, bounds, 0)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = harness.record(
        "ingest_lidar.rasterize",
        "LAZ decode + DTM/DSM rasterization throughput",
        "points/s",
        measured,
        (points, points),
        "laspy.read + numpy binning (bincount mean, maximum.at max)",
        {
            "points": points,
            "file_mb": round(size_mb, 1),
            "source": origin,
            "resolution_m": RESOLUTION,
            "grid_cells": _grid(bounds).rows * _grid(bounds).cols,
            "chunk_points": CHUNK,
            "products": ["mnt (mean of classes 2, 9, 66)", "mns (max, noise excluded)"],
        },
        with_gap_filling={"seconds": round(filled[0], 3), "peak_rss_mb": round(filled[1])},
        half_the_points={
            "points": half_points,
            "seconds": round(smaller[0], 3),
            "peak_rss_mb": round(smaller[1]),
        },
    )
    ours_rate, base_rate = result["ours"], result["baseline"]
    print(
        f"rasterize: ours {ours_rate / 1e6:.2f} M points/s vs baseline {base_rate / 1e6:.2f} "
        f"M points/s -> ratio {ours_rate / base_rate:.2f}; peak RSS ours "
        f"{measured['ours']['peak_rss_mb']:.0f} MB ({smaller[1]:.0f} MB on {half_points:,} "
        f"points), baseline {measured['baseline']['peak_rss_mb']:.0f} MB; with gap filling "
        f"{filled[0]:.2f} s"
    )
    print(f"written {harness.write('ingest_lidar', [result])}")


if __name__ == "__main__":
    main()
