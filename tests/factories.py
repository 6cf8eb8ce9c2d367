"""Small generated fixtures shared by several test modules."""

import pyarrow as pa
import shapely

from jnft.ingest.hashing import row_hash
from jnft.settings import load_settings

SETTINGS = load_settings()  # the checkout's sample project
PROJECT_DIR = SETTINGS.project
CONCEPTS_DIR = SETTINGS.concepts
SCENARIOS_DIR = SETTINGS.scenarios
SQL_DIR = SETTINGS.sql


def layer(features: dict[str, tuple[float, str]], tile: str = "0380_6550") -> pa.Table:
    """A tiny layer: feature_id -> (x of a 10 m square, usage)."""
    ids = list(features)
    geometry = shapely.to_wkb([shapely.box(x, 0, x + 10, 10) for x, _ in features.values()])
    table = pa.table(
        {
            "feature_id": pa.array(ids, pa.string()),
            "usage": pa.array([u for _, u in features.values()], pa.string()),
            "geometry": pa.array(list(geometry), pa.binary()),
            "tile": pa.array([tile] * len(ids), pa.string()),
        }
    )
    return table.append_column("row_hash", row_hash(table, ["usage", "geometry"]))


def write_las(
    path,
    x,
    y,
    z,
    classification=None,
    *,
    version: str = "1.4",
    point_format: int = 6,
    crs: str | None = "EPSG:2154",
) -> None:
    """A small LAS/LAZ file (compressed when the name ends in .laz), with a WKT CRS or none."""
    import laspy
    import numpy as np
    import pyproj

    header = laspy.LasHeader(point_format=point_format, version=version)
    header.offsets = [float(np.min(x)), float(np.min(y)), 0.0]
    header.scales = [0.01, 0.01, 0.01]
    if crs is not None:
        header.add_crs(pyproj.CRS.from_user_input(crs))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = np.full(len(x), 2, np.uint8) if classification is None else classification
    las.write(str(path))


# The sample project's scenarios, materialized by the end-to-end tests.
SAMPLE_SCENARIOS = ["crue_q100", "crue_q1000", "submersion_tempete_slr60"]


def materialize_sample(sources, root):
    """Every asset of this checkout's project over `sources` into a lakehouse at `root`, on an
    ephemeral instance, as the demo does: (instance, the runs' results)."""
    import dagster as dg

    from jnft.orchestration.definitions import defs
    from jnft.orchestration.demo import materialize_all
    from jnft.orchestration.partitions import (
        register,
        register_tiles,
        scenarios_partitions,
        territory_tiles,
    )
    from jnft.orchestration.resources import LakehouseResource

    instance = dg.DagsterInstance.ephemeral()
    tiles = territory_tiles(sources)
    register_tiles(instance, tiles)
    register(instance, SAMPLE_SCENARIOS, scenarios_partitions)
    resource = LakehouseResource(root=str(root), sources=str(sources))
    return instance, materialize_all(
        instance, defs, tiles, {"lakehouse": resource}, SAMPLE_SCENARIOS
    )
