"""The local-inertial kernel on a fully wet 2000 × 2000 grid.

- ours: `jnft.simulation.inertial.simulate` (θ-weighting 0.8, 2D friction, positivity cap,
  maxima tracked every step), a fixed number of steps;
- peer: landlab's `OverlandFlow` (de Almeida's scheme, 1D friction) on the same grid and
  depths, the same number of steps (needs the bench extra, `make bench` installs it);
- the machine's memory bandwidth (a parallel stream copy of 400 MB arrays), so that the
  kernel's figure reads as a fraction of what memory allows: a step moves about 100 bytes
  per cell (faces pass: z, h, two discharge grids in, two out; cells pass: the discharges, h,
  the three tracked maxima).

Run: `python bench/flood_kernel.py [--size N] [--steps S] [--repeats R]`; writes
bench/results/flood_kernel.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

BYTES_PER_CELL_UPDATE = 100


def terrain(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    return 0.0005 * x + 0.0002 * y + rng.normal(0, 0.05, (size, size))


def prepare_ours(size: int, steps: int) -> tuple:
    from jnft.simulation.inertial import Setup, simulate

    z = terrain(size)
    warm = Setup(z=z[:64, :64], dx=10.0, manning=0.03, depth=np.ones((64, 64)))
    simulate(warm, 30.0)  # compile the kernels (cached on disk after the first run)
    dt = 0.7 * 10.0 / np.sqrt(9.81 * 1.05)  # the time step of 1 m of water (+ noise)
    setup = Setup(z=z, dx=10.0, manning=0.03, depth=np.full((size, size), 1.0), max_step=dt)
    return setup, steps * dt


def ours(setup, duration: float) -> None:
    from jnft.simulation.inertial import simulate

    result = simulate(setup, duration)
    assert result.steps > 0 and abs(result.volume.error) < 1e-6


def prepare_peer(size: int, steps: int) -> tuple:
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow

    grid = RasterModelGrid((size + 2, size + 2), xy_spacing=10.0)
    z = np.zeros((size + 2, size + 2))
    z[1:-1, 1:-1] = terrain(size)
    grid.add_field("topographic__elevation", z.ravel(), at="node")
    grid.add_field("surface_water__depth", np.full(grid.number_of_nodes, 1.0), at="node")
    grid.set_closed_boundaries_at_grid_edges(True, True, True, True)
    flow = OverlandFlow(grid, mannings_n=0.03, alpha=0.7, theta=0.8)
    return flow, steps


def peer(flow, steps: int) -> None:
    for _ in range(steps):
        flow.overland_flow(dt=flow.calc_time_step())


def stream_copy_bandwidth(repeats: int = 5) -> float:
    """Bytes per second a parallel copy moves (read + write), the machine's practical bound."""
    import numba

    @numba.njit(parallel=True)
    def copy(a, b):
        for i in numba.prange(a.size):
            b[i] = a[i]

    a = np.ones(50_000_000)
    b = np.empty_like(a)
    copy(a, b)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        copy(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * a.nbytes / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--peer-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cells = args.size * args.size
    print(f"{args.size}² cells fully wet; ours {args.steps} steps, landlab {args.peer_steps}")
    measured = harness.compare(
        (prepare_ours, ours, (args.size, args.steps)),
        (prepare_peer, peer, (args.size, args.peer_steps)),
        args.repeats,
    )
    bandwidth = stream_copy_bandwidth()
    bound = bandwidth / BYTES_PER_CELL_UPDATE
    result = harness.record(
        "flood_kernel.local_inertial",
        "cell updates per second, fully wet grid",
        "cell-updates/s",
        measured,
        (cells * args.steps, cells * args.peer_steps),
        "landlab 2.11 OverlandFlow (same grid, depths, n, θ, α)",
        {
            "size": args.size,
            "steps": args.steps,
            "peer_steps": args.peer_steps,
            "bytes_per_cell_update": BYTES_PER_CELL_UPDATE,
        },
        memory_bandwidth_gb_s=round(bandwidth / 1e9, 1),
        bandwidth_bound_cell_updates_s=round(bound),
    )
    ours_rate, peer_rate = result["ours"], result["baseline"]
    result["fraction_of_bound"] = round(ours_rate / bound, 3)
    print(
        f"ours {ours_rate / 1e6:.1f} M cell-updates/s, landlab {peer_rate / 1e6:.2f} M -> "
        f"ratio {ours_rate / peer_rate:.1f}; memory bandwidth {bandwidth / 1e9:.1f} GB/s, bound "
        f"{bound / 1e6:.0f} M cell-updates/s ({ours_rate / bound:.0%} of it)"
    )
    print(f"written {harness.write('flood_kernel', [result])}")


if __name__ == "__main__":
    main()
