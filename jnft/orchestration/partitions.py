"""Partitions: the 10 km `tiles` of the territories (dynamic, registered from territory files),
the flood `scenarios` (dynamic, registered from `scenarios/*.yaml`), and their product."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from jnft.tiles import tile_bounds

tiles_partitions = dg.DynamicPartitionsDefinition(name="tiles")
scenarios_partitions = dg.DynamicPartitionsDefinition(name="scenarios")
scenario_tiles = dg.MultiPartitionsDefinition(
    {"scenario": scenarios_partitions, "tile": tiles_partitions}
)


def declared_scenarios(folder: Path) -> list[str]:
    """The scenario ids of `scenarios/*.yaml`, each file validated."""
    from jnft.simulation.scenario import load_scenarios

    return [s.id for s in load_scenarios(folder)]


def territory_tiles(sources_dir: Path) -> list[str]:
    """The tiles a territory declares in `<sources>/territory.yaml` (validated names)."""
    path = Path(sources_dir) / "territory.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tiles = data.get("tiles", []) if isinstance(data, dict) else None
    if not isinstance(tiles, list):
        raise ValueError(f"{path}: tiles: a list of tile names, e.g. ['0380_6550']")
    for tile in tiles:
        try:
            tile_bounds(tile)
        except ValueError as error:
            raise ValueError(f"{path}: tiles: {error}") from None
    return list(tiles)


def register(
    instance: dg.DagsterInstance, keys: list[str], partitions: dg.DynamicPartitionsDefinition
) -> list[str]:
    """Add the keys not yet known to the instance; returns those added."""
    assert partitions.name is not None  # ours are defined by name
    known = set(instance.get_dynamic_partitions(partitions.name))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(partitions.name, new)
    return new


def register_tiles(instance: dg.DagsterInstance, tiles: list[str]) -> list[str]:
    return register(instance, tiles, tiles_partitions)
