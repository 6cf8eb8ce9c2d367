"""Peak memory of one flood partition: what a Kubernetes pod running it must be given.

The sample territory (4 km × 2 km) is generated and its layers materialized once, untimed, in
this process; then each scenario × tile partition is materialized in a fresh spawned process
(`dg.materialize` in-process, as the demo does, the flood's domain cache removed first so that
every run is a cold one). The figure is the process's peak RSS: Python, Dagster, the inputs
read from the lakehouse, the model's grids, the COGs written — the whole step, as its pod holds
it. The domain cells of each run are reported with it: the model's grids scale with them.

Run: `python bench/flood_memory.py [--scenario S ...] [--tile T ...]`; writes
bench/results/flood_memory.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SCENARIOS = ["crue_q100", "crue_q1000", "submersion_tempete_slr60"]


def prepare_layers(folder: Path) -> tuple[Path, Path, list[str]]:
    """The sample territory's sources and every layer of it in a lakehouse under `folder`."""
    import dagster as dg

    from jnft.orchestration.definitions import defs
    from jnft.orchestration.demo import materialize_all
    from jnft.orchestration.partitions import register_tiles, territory_tiles
    from jnft.orchestration.resources import LakehouseResource
    from jnft.sampledata.generate import generate
    from jnft.sampledata.territory import SMALL

    sources, lake = folder / "sources", folder / "lakehouse"
    generate(sources, SMALL)
    instance = dg.DagsterInstance.ephemeral()
    tiles = territory_tiles(sources)
    register_tiles(instance, tiles)
    resource = LakehouseResource(root=str(lake), sources=str(sources))
    results = materialize_all(instance, defs, tiles, {"lakehouse": resource})
    assert all(r.success for r in results), "the layers of the sample territory failed"
    return sources, lake, tiles


def prepare_flood(lake: str, sources: str, scenario: str, tile: str, figures: str) -> tuple:
    import dagster as dg

    from jnft.orchestration.definitions import defs
    from jnft.orchestration.partitions import register, register_tiles, scenarios_partitions
    from jnft.orchestration.resources import LakehouseResource

    instance = dg.DagsterInstance.ephemeral()
    register_tiles(instance, [tile])
    register(instance, [scenario], scenarios_partitions)
    resource = LakehouseResource(root=lake, sources=sources)
    key = dg.MultiPartitionKey({"scenario": scenario, "tile": tile})
    return defs, instance, resource, key, figures


def flood(defs, instance, resource, key, figures: str) -> None:
    from jnft.assets.simulation import FLOOD_KEY
    from jnft.orchestration.demo import materialize_quietly

    result = materialize_quietly(
        list(defs.assets or []),
        instance,
        {"lakehouse": resource},
        selection=[FLOOD_KEY],
        partition_key=key,
    )
    assert result.success, "the flood failed"
    (event,) = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    Path(figures).write_text(json.dumps({"domain_cells": metadata["domain_cells"].value}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="+", default=SCENARIOS)
    parser.add_argument("--tile", nargs="+", help="default: every tile of the territory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jnft-flood-memory-") as tmp:
        folder = Path(tmp)
        print("generating the sample territory and materializing its layers ...", flush=True)
        sources, lake, tiles = prepare_layers(folder)
        figures = folder / "figures.json"
        results = []
        for scenario in args.scenario:
            for tile in args.tile or tiles:
                # Cold: the connected domain is computed again, as on a fresh volume.
                shutil.rmtree(lake / "gold" / "simulation" / scenario, ignore_errors=True)
                task = (prepare_flood, flood, (str(lake), str(sources), scenario, tile,
                                               str(figures)))  # fmt: skip
                seconds, peak = harness.measure(task)
                cells = json.loads(figures.read_text())["domain_cells"]
                print(
                    f"  {scenario:26s} {tile}  {seconds:6.1f} s  peak {peak:6.0f} MB  "
                    f"domain {cells} cells",
                    flush=True,
                )
                results.append(
                    {
                        "name": f"flood_memory.{scenario}.{tile}",
                        "metric": "peak RSS of one flood partition, whole process",
                        "unit": "MB",
                        "peak_rss_mb": round(peak),
                        "seconds": round(seconds, 1),
                        "domain_cells": cells,
                        "params": {"territory": "SMALL", "scenario": scenario, "tile": tile},
                        "machine": harness.machine(),
                    }
                )
    worst = max(results, key=lambda r: r["peak_rss_mb"])
    print(f"highest peak: {worst['peak_rss_mb']} MB ({worst['name']})")
    print(f"written {harness.write('flood_memory', results)}")


if __name__ == "__main__":
    main()
