"""Partitions: the 10 km `tiles` of the territories (dynamic, registered from territory files)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from jnft.lakehouse.tiles import tile_bounds

tiles_partitions = dg.DynamicPartitionsDefinition(name="tiles")


def territory_tiles(sources_dir: Path) -> list[str]:
    """The tiles a territory declares in `<sources>/territory.yaml` (validated names)."""
    path = Path(sources_dir) / "territory.yaml"
    if not path.exists():
        return []
    tiles = yaml.safe_load(path.read_text(encoding="utf-8")).get("tiles", [])
    for tile in tiles:
        tile_bounds(tile)
    return list(tiles)


def register_tiles(instance: dg.DagsterInstance, tiles: list[str]) -> list[str]:
    """Add the tiles not yet known to the instance; returns those added."""
    known = set(instance.get_dynamic_partitions(tiles_partitions.name))
    new = [t for t in tiles if t not in known]
    if new:
        instance.add_dynamic_partitions(tiles_partitions.name, new)
    return new
