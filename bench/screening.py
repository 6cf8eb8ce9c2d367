"""Flood screening on a 2000 × 2000 DEM: depression filling, D8 flow directions and HAND.

- ours: `jnft.simulation.screening` — a Priority-Flood in parallel strips (Barnes 2016) gives
  the filled DEM, then D8 receivers with flats routed, then HAND along them (memoized);
- peers, on the same DEM and the same stream cells: pyflwdir (`fill_depressions`, which also
  gives D8, then `FlwdirRaster.hand`) and richdem (`fill_depressions`, `flow_proportions` D8;
  richdem has no HAND, so its figure is fill + D8 only — a lower bound of its time).

Run: `python bench/screening.py [--size N] [--repeats R]`; writes
bench/results/screening.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def dem(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    return (
        0.002 * x
        + 3 * np.sin(x / 137.0) * np.cos(y / 91.0)
        + 0.5 * np.sin(x / 23.0 + y / 31.0)
        + rng.normal(0, 0.2, (size, size))
    )


def streams_of(z: np.ndarray) -> np.ndarray:
    """The stream cells both sides use: flow accumulation above 5000 cells (ours, untimed)."""
    from jnft.simulation.screening import accumulation, drainage

    return accumulation(drainage(z)) > 5000


def prepare(size: int) -> tuple:
    z = dem(size)
    return z, streams_of(z)


def prepare_ours(size: int) -> tuple:
    from jnft.simulation.screening import drainage, hand

    drainage(dem(64))  # compile (cached on disk after the first run)
    hand(drainage(dem(64)), np.zeros((64, 64), bool))
    return prepare(size)


def ours(z, streams) -> None:
    from jnft.simulation.screening import drainage, hand

    heights = hand(drainage(z), streams)
    assert np.isfinite(heights).any()


def prepare_pyflwdir(size: int) -> tuple:
    import pyflwdir

    small = dem(64)
    filled, d8 = pyflwdir.fill_depressions(small)
    pyflwdir.from_array(d8, ftype="d8", check_ftype=False).hand(small > 1e9, filled)
    return prepare(size)


def with_pyflwdir(z, streams) -> None:
    import pyflwdir

    filled, d8 = pyflwdir.fill_depressions(z)
    heights = pyflwdir.from_array(d8, ftype="d8", check_ftype=False).hand(streams, filled)
    assert (heights != -9999).any()


def prepare_richdem(size: int) -> tuple:
    import richdem  # noqa: F401  (imported before timing)

    return prepare(size)


def with_richdem(z, streams) -> None:
    import richdem

    surface = richdem.rdarray(z.copy(), no_data=-9999.0)
    richdem.fill_depressions(surface, in_place=True)
    richdem.flow_proportions(surface, method="D8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cells = args.size**2
    results = []
    for name, prepare_peer, run_peer in (
        ("pyflwdir 0.5.12 fill_depressions + hand", prepare_pyflwdir, with_pyflwdir),
        ("richdem 2.2 fill_depressions + flow_proportions(D8), no HAND", prepare_richdem,
         with_richdem),
    ):  # fmt: skip
        print(f"ours vs {name}")
        measured = harness.compare(
            (prepare_ours, ours, (args.size,)), (prepare_peer, run_peer, (args.size,)),
            args.repeats,
        )  # fmt: skip
        result = harness.record(
            "screening.fill_d8_hand",
            "cells per second, fill + D8 + HAND",
            "cells/s",
            measured,
            (cells, cells),
            name,
            {"size": args.size},
        )
        results.append(result)
        ours_rate, peer_rate = result["ours"], result["baseline"]
        print(
            f"ours {ours_rate / 1e6:.2f} M cells/s vs {peer_rate / 1e6:.2f} M -> "
            f"ratio {ours_rate / peer_rate:.2f}"
        )
    print(f"written {harness.write('screening', results)}")


if __name__ == "__main__":
    main()
