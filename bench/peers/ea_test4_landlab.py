"""Golden fixture: the EA Test 4 case run by landlab's OverlandFlow (de Almeida's local
inertial scheme as landlab implements it), depths at the six output points every 5 minutes.

The case is `jnft.simulation.validation.ea_test4` (our reconstruction of Néelz & Pender 2013,
see its docstring), mapped cell for cell onto a landlab raster grid whose closed perimeter
nodes surround our cells. The test `tests/simulation/test_validation.py` compares our model
with this file, so CI need not install landlab nor wait for it.

Run (needs the bench extra: `make bench` installs it):
`python bench/peers/ea_test4_landlab.py` -> tests/simulation/golden/ea_test4_landlab.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from jnft.simulation.validation import ea_test4

OUT = Path(__file__).resolve().parents[2] / "tests/simulation/golden/ea_test4_landlab.json"
EVERY = 300.0


def main() -> None:
    import landlab
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow

    case = ea_test4()
    setup = case.setup
    rows, cols = setup.z.shape
    grid = RasterModelGrid((rows + 2, cols + 2), xy_spacing=setup.dx)
    grid.add_field("topographic__elevation", np.zeros(grid.number_of_nodes), at="node")
    depth = grid.add_zeros("surface_water__depth", at="node")
    grid.set_closed_boundaries_at_grid_edges(True, True, True, True)
    flow = OverlandFlow(grid, mannings_n=setup.manning, alpha=setup.alpha, theta=setup.theta,
                        h_init=1e-7)  # fmt: skip

    def node(r: int, c: int) -> int:  # our row 0 is north; landlab's node row 0 is south
        return (rows - r) * (cols + 2) + (c + 1)

    (inflow,) = setup.inflows
    inflow_nodes = np.array([node(r, c) for r, c in inflow.cells])
    points = {name: node(r, c) for name, (r, c) in case.points.items()}
    series = {name: [] for name in points}
    t, next_output, started = 0.0, 0.0, time.perf_counter()
    while t < case.duration - 1e-9:
        if t >= next_output - 1e-9:
            for name, n in points.items():
                series[name].append([t, float(depth[n])])
            next_output += EVERY
        dt = min(flow.calc_time_step(), next_output - t, case.duration - t)
        flow.overland_flow(dt=dt)
        q = inflow.discharge.at(t + dt / 2)
        depth[inflow_nodes] += q * dt / (setup.dx**2 * len(inflow_nodes))
        t += dt
    for name, n in points.items():
        series[name].append([t, float(depth[n])])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "peer": f"landlab {landlab.__version__} OverlandFlow",
                "case": "jnft.simulation.validation.ea_test4",
                "every_s": EVERY,
                "run_seconds": round(time.perf_counter() - started, 1),
                "depths": series,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written {OUT} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
