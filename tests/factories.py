"""Small generated fixtures shared by several test modules."""

import pyarrow as pa
import shapely

from jnft.lakehouse.hashing import row_hash


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
