"""Who and what a flood reaches: buildings, dwellings, residents and sensitive equipment by
commune and depth class, from a max-depth grid.

A building or an equipment counts with the depth at its centroid's cell. Residents come
from the gridded population: each 200 m square's individuals are shared among the buildings
whose centroid lies in it, in proportion to their dwellings (a square with people but no
dwelling counts as unlocated residents) — or, without a grid, each commune's population
among its buildings the same way. A building layer without dwellings (BD TOPO 2) gets them
estimated from footprint and height. How each figure was obtained is a column of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import shapely

# A dwelling's floor area and a storey's height (m², m), for dwellings estimated from
# footprints; smaller footprints (sheds, garages) hold none.
FLOOR_AREA_PER_DWELLING = 90.0
STOREY_HEIGHT = 3.0
MIN_DWELLING_FOOTPRINT = 20.0
ESTIMATED_DWELLINGS = (
    f"estimated: footprint × storeys (height / {STOREY_HEIGHT:g} m, at least one) / "
    f"{FLOOR_AREA_PER_DWELLING:g} m², none under {MIN_DWELLING_FOOTPRINT:g} m²"
)
# Depth classes of the flood risk prevention plans (m), and the depth that counts as wet.
DEPTH_CLASSES = (("0-0.5", 0.0, 0.5), ("0.5-1", 0.5, 1.0), ("1-2", 1.0, 2.0), (">2", 2.0, np.inf))
WET = 0.01

EXPOSURE_SCHEMA = pa.schema(
    [
        ("scenario", pa.string()),
        ("tile", pa.string()),
        ("insee_com", pa.string()),
        ("commune", pa.string()),
        ("depth_class", pa.string()),
        ("buildings", pa.int64()),
        ("dwellings", pa.int64()),
        ("residents", pa.float64()),
        ("dwellings_from", pa.string()),  # how the dwellings were obtained
        ("residents_from", pa.string()),  # how the residents were obtained
    ]
)
EQUIPMENT_SCHEMA = pa.schema(
    [
        ("scenario", pa.string()),
        ("tile", pa.string()),
        ("insee_com", pa.string()),
        ("commune", pa.string()),
        ("depth_class", pa.string()),
        ("category", pa.string()),
        ("kind", pa.string()),
        ("count", pa.int64()),
    ]
)


@dataclass(frozen=True)
class DepthGrid:
    depth: np.ndarray  # max depth, NaN or 0 where dry
    x0: float
    y1: float
    resolution: float

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Depth of the cell containing each point (NaN outside the grid)."""
        rows, cols = self.depth.shape
        c = np.floor((x - self.x0) / self.resolution).astype(np.int64)
        r = np.floor((self.y1 - y) / self.resolution).astype(np.int64)
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        out = np.full(len(x), np.nan)
        out[inside] = self.depth[r[inside], c[inside]]
        return out


def depth_class(depth: np.ndarray) -> np.ndarray:
    """Class label of each depth; None where dry."""
    labels = np.full(len(depth), None, dtype=object)
    for name, low, high in DEPTH_CLASSES:
        labels[(depth > max(low, WET)) & (depth <= high)] = name
    return labels


def estimated_dwellings(footprints: np.ndarray, heights: np.ndarray | None) -> np.ndarray:
    """Dwellings of buildings whose layer has none: floor area over a dwelling's (see
    ESTIMATED_DWELLINGS); a building without height counts one storey."""
    area = shapely.area(footprints)
    storeys = np.ones(len(footprints))
    if heights is not None:
        storeys = np.maximum(np.round(np.nan_to_num(heights.astype(float)) / STOREY_HEIGHT), 1)
    dwellings = np.floor(area * storeys / FLOOR_AREA_PER_DWELLING)
    return np.where(area >= MIN_DWELLING_FOOTPRINT, dwellings, 0.0)


def residents(building_points: np.ndarray, dwellings: np.ndarray, squares: np.ndarray,
              individuals: np.ndarray) -> tuple[np.ndarray, float]:  # fmt: skip
    """(residents per building, residents of squares without any dwelling)."""
    tree = shapely.STRtree(squares)
    point_index, square_index = tree.query(building_points, predicate="within")
    square_of = np.full(len(building_points), -1)
    square_of[point_index] = square_index
    located = square_of >= 0
    weights = np.where(located, np.maximum(dwellings, 0), 0).astype(np.float64)
    totals = np.bincount(square_of[located], weights=weights[located], minlength=len(squares))
    share = np.zeros(len(building_points))
    has = located & (totals[np.maximum(square_of, 0)] > 0)
    share[has] = weights[has] / totals[square_of[has]]
    people = np.zeros(len(building_points))
    people[has] = share[has] * individuals[square_of[has]]
    unlocated = float(individuals[totals == 0].sum())
    return people, unlocated


def commune_of(points: np.ndarray, communes: np.ndarray) -> np.ndarray:
    """Index of the commune polygon containing each point (−1 outside every commune)."""
    # The tree over the points, queried by each commune: an outline of hundreds of vertices
    # is then prepared once, not tested afresh for every point (3× faster at 1 M points).
    tree = shapely.STRtree(points)
    commune_index, point_index = tree.query(communes, predicate="contains")
    out = np.full(len(points), -1)
    out[point_index] = commune_index
    return out


def _summarize(
    scenario: str,
    tile: str,
    grid: DepthGrid,
    points: np.ndarray,
    attributes: dict[str, np.ndarray],
    keys: list[str],
    totals: list[pl.Expr],
    communes: tuple[np.ndarray, list[str], list[str]],
    schema: pa.Schema,
) -> pa.Table:
    """Flooded points grouped by commune, depth class and `keys`, with their `totals`."""
    classes = depth_class(grid.at(shapely.get_x(points), shapely.get_y(points)))
    wet = classes != None  # noqa: E711  (object array of labels)
    if not wet.any():
        return schema.empty_table()
    polygons, codes, names = communes
    index = commune_of(points[wet], polygons)
    frame = pl.DataFrame(
        {
            "insee_com": [codes[i] if i >= 0 else None for i in index],
            "commune": [names[i] if i >= 0 else None for i in index],
            "depth_class": classes[wet].tolist(),
            **{name: np.asarray(values)[wet] for name, values in attributes.items()},
        }
    )
    groups = ["insee_com", "commune", "depth_class", *keys]
    summary = (
        frame.group_by(groups)
        .agg(totals)
        .with_columns(pl.lit(scenario).alias("scenario"), pl.lit(tile).alias("tile"))
    )
    ordered = summary.select(schema.names).sort(["insee_com", "depth_class", *keys[-1:]])
    return ordered.to_arrow().cast(schema)


def building_exposure(
    scenario: str,
    tile: str,
    grid: DepthGrid,
    points: np.ndarray,
    dwellings: np.ndarray,
    people: np.ndarray,
    communes: tuple[np.ndarray, list[str], list[str]],
    sources: tuple[str, str],
) -> pa.Table:
    """Buildings, dwellings and residents by commune and depth class (flooded only), with how
    the dwellings and the residents were obtained (`sources`)."""
    dwellings_from, residents_from = sources
    counted = _summarize(
        scenario,
        tile,
        grid,
        points,
        {"dwellings": dwellings.astype(np.int64), "residents": people},
        [],
        [
            pl.len().alias("buildings").cast(pl.Int64),
            pl.col("dwellings").sum(),
            pl.col("residents").sum(),
        ],
        communes,
        pa.schema(list(EXPOSURE_SCHEMA)[:-2]),
    )
    rows = counted.num_rows
    return counted.append_column(
        "dwellings_from", pa.array([dwellings_from] * rows, pa.string())
    ).append_column("residents_from", pa.array([residents_from] * rows, pa.string()))


def equipment_exposure(
    scenario: str,
    tile: str,
    grid: DepthGrid,
    points: np.ndarray,
    categories: list[str],
    kinds: list[str],
    communes: tuple[np.ndarray, list[str], list[str]],
) -> pa.Table:
    """Equipment (schools, hospitals, fire stations…) by commune, depth class and kind."""
    return _summarize(
        scenario,
        tile,
        grid,
        points,
        {
            "category": np.asarray(categories, dtype=object),
            "kind": np.asarray(kinds, dtype=object),
        },
        ["category", "kind"],
        [pl.len().alias("count").cast(pl.Int64)],
        communes,
        EQUIPMENT_SCHEMA,
    )
