"""Out-of-core flood screening (fill, D8, accumulation, HAND) of a large synthetic DEM on a
Dask LocalCluster, in bounded memory.

- the DEM: a fractal terrain (value noise over 8 octaves, valleys, a regional slope, a no-data
  corner) generated window by window from the cells' coordinates (a Numba kernel:
  deterministic, seamless, never whole in memory) into a tiled, compressed float32 GeoTIFF
  under /tmp;
- ours: `jnft.simulation.outofcore.screen` on a LocalCluster of 2 single-threaded worker
  processes; peak memory is the sum of the resident memory of this process and all its
  children (scheduler, nanny, workers), sampled every 0.2 s;
- baseline, in the same run: the in-memory `jnft.simulation.screening` (drainage,
  accumulation, HAND) on a DEM that fits (`--baseline-size`, default 8000 × 8000), in a fresh
  process (`harness.measure`), and the out-of-core screening of that same DEM.

Run: `python bench/outofcore_screening.py [--size 40000] [--baseline-size 8000]
[--tile 2048]`; writes bench/results/outofcore_screening.json.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numba
import numpy as np
import psutil
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

CELL = 5.0  # metres, as RGE ALTI 5 m
THRESHOLD_KM2 = 1.0  # streams: the scenarios' default network threshold
WINDOW = 2048
MEMORY_BUDGET_MB = 4096


@numba.njit(cache=True, inline="always")
def _hash01(i: int, j: int, octave: int) -> float:
    """A deterministic pseudo-random value in [0, 1) of an integer lattice point."""
    h = np.uint64(i) * np.uint64(0x9E3779B97F4A7C15)
    h ^= np.uint64(j) * np.uint64(0xC2B2AE3D27D4EB4F) + np.uint64(octave) * np.uint64(0x165667B1)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return float(h >> np.uint64(11)) / 9007199254740992.0


@numba.njit(cache=True, parallel=True)
def _terrain(r0: int, c0: int, h: int, w: int) -> np.ndarray:
    out = np.empty((h, w), dtype=np.float32)
    for a in numba.prange(h):
        y = float(r0 + a)
        for b in range(w):
            x = float(c0 + b)
            z = 0.002 * x + 30.0 * abs(np.sin(y / 1900.0 + 0.8 * np.sin(x / 2700.0)))
            for octave in range(8):
                period = 1024 >> octave
                gy, gx = y / period, x / period
                i, j = int(np.floor(gy)), int(np.floor(gx))
                fy, fx = gy - i, gx - j
                top = _hash01(i, j, octave) * (1 - fx) + _hash01(i, j + 1, octave) * fx
                bottom = _hash01(i + 1, j, octave) * (1 - fx) + _hash01(i + 1, j + 1, octave) * fx
                z += (12.0 / 2**octave) * (top + (bottom - top) * fy - 0.5)
            out[a, b] = np.nan if x + y < 2000 else np.round(z * 100.0) / 100.0
    return out


def terrain(r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """Elevations (m) of the window: slope to the west, meandering valleys, fractal value
    noise over 8 octaves (its small octaves make depressions, its rounding to 1 cm flats), a
    no-data corner (the sea, as RGE ALTI has it)."""
    return _terrain(r0, c0, h, w)


def write_dem(path: Path, size: int) -> None:
    """The size × size DEM, window by window, as a tiled deflate-compressed GeoTIFF."""
    profile = {
        "driver": "GTiff", "height": size, "width": size, "count": 1, "dtype": "float32",
        "crs": "EPSG:2154", "transform": from_origin(600_000, 6_900_000, CELL, CELL),
        "nodata": np.nan, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "compress": "deflate", "zlevel": 1, "bigtiff": "YES", "num_threads": 2,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, WINDOW):
            for c0 in range(0, size, WINDOW):
                h, w = min(WINDOW, size - r0), min(WINDOW, size - c0)
                dst.write(terrain(r0, c0, h, w), 1, window=Window(c0, r0, w, h))


class TreePeak:
    """Peak of the summed resident memory of this process and all its descendants."""

    def __init__(self, every: float = 0.2) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a process that just ended
                    total += p.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            time.sleep(self._every)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def out_of_core(dem: Path, out: Path, tile: int) -> tuple[float, float, int, dict]:
    """(seconds, peak MB of the process tree, rounds of flat distances, seconds of each stage)
    of a screening on a fresh LocalCluster (its start-up not timed)."""
    from jnft.simulation.outofcore import screen
    from jnft.simulation.outofcore.cluster import dask_client

    with TreePeak() as peak, dask_client(n_workers=2) as client:
        started = time.perf_counter()
        result = screen(dem, out, client, tile=tile, threshold_km2=THRESHOLD_KM2)
        seconds = time.perf_counter() - started
    shutil.rmtree(out)
    print(f"  stages (s): {result.seconds}", flush=True)
    return seconds, peak.peak_mb, result.flat_rounds, result.seconds


def prepare_in_memory(path: str) -> tuple:
    from jnft.simulation.screening import accumulation, drainage, hand

    small = np.random.default_rng(0).normal(size=(64, 64))
    hand(drainage(small), accumulation(drainage(small)) > 10)  # compiled before timing
    with rasterio.open(path) as src:
        return (src.read(1, masked=True).filled(np.nan).astype(np.float64),)


def in_memory(z: np.ndarray) -> None:
    from jnft.simulation.screening import accumulation, drainage, hand

    flow = drainage(z)
    valid = np.isfinite(z)
    streams = np.where(valid, accumulation(flow) * CELL**2 / 1e6, 0.0) >= THRESHOLD_KM2
    assert np.isfinite(hand(flow, streams)).any()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40_000)
    parser.add_argument("--baseline-size", type=int, default=8_000)
    parser.add_argument("--tile", type=int, default=2048)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jnft-outofcore-", dir=args.workdir))
    print(f"free disk under {work}: {shutil.disk_usage(work).free / 2**30:.0f} GiB")
    try:
        from jnft.simulation.outofcore import screen  # noqa: F401  (numba caches warm)

        small = work / "small.tif"
        write_dem(small, args.baseline_size)
        base_cells = args.baseline_size**2
        base_seconds, base_peak = harness.measure((prepare_in_memory, in_memory, (str(small),)))
        print(f"in-memory {args.baseline_size}²: {base_seconds:.1f} s, peak {base_peak:.0f} MB")
        same_seconds, same_peak, same_rounds, same_stages = out_of_core(
            small, work / "out", args.tile
        )
        print(f"out-of-core {args.baseline_size}²: {same_seconds:.1f} s, "
              f"peak {same_peak:.0f} MB (process tree)")  # fmt: skip
        small.unlink()
        baseline_name = f"in-memory jnft.simulation.screening at {args.baseline_size}²"
        params = {"baseline_size": args.baseline_size, "tile": args.tile, "workers": 2,
                  "threshold_km2": THRESHOLD_KM2}  # fmt: skip
        results = [
            harness.record(
                "outofcore_screening.same_dem",
                "cells per second, fill + D8 + accumulation + HAND",
                "cells/s",
                {
                    "ours": {"seconds": same_seconds, "peak_rss_mb": same_peak},
                    "baseline": {"seconds": base_seconds, "peak_rss_mb": base_peak},
                },
                (base_cells, base_cells),
                baseline_name,
                {**params, "size": args.baseline_size},
                flat_rounds=same_rounds,
                stage_seconds=same_stages,
            )
        ]
        if args.size != args.baseline_size:
            big = work / "big.tif"
            started = time.perf_counter()
            write_dem(big, args.size)
            generated = time.perf_counter() - started
            print(f"DEM {args.size}² generated in {generated:.0f} s "
                  f"({big.stat().st_size / 2**30:.1f} GiB)")  # fmt: skip
            seconds, peak, rounds, stages = out_of_core(big, work / "out", args.tile)
            print(f"out-of-core {args.size}²: {seconds:.0f} s, peak {peak:.0f} MB "
                  f"(process tree; budget {MEMORY_BUDGET_MB} MB)")  # fmt: skip
            results.append(
                harness.record(
                    "outofcore_screening.large_dem",
                    "cells per second, fill + D8 + accumulation + HAND",
                    "cells/s",
                    {
                        "ours": {"seconds": seconds, "peak_rss_mb": peak},
                        "baseline": {"seconds": base_seconds, "peak_rss_mb": base_peak},
                    },
                    (args.size**2, base_cells),
                    baseline_name,
                    {**params, "size": args.size},
                    flat_rounds=rounds,
                    stage_seconds=stages,
                    within_budget=peak < MEMORY_BUDGET_MB,
                    generation_seconds=round(generated, 1),
                )
            )
        for r in results:
            print(
                f"{r['name']}: ours {r['ours'] / 1e6:.2f} M cells/s (peak {r['peak_rss_mb']} "
                f"MB) vs {r['baseline'] / 1e6:.2f} M (peak {r['baseline_peak_rss_mb']} MB)"
            )
        print(f"written {harness.write('outofcore_screening', results)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
