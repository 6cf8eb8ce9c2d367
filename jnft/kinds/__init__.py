"""The registry of concept kinds: one module per kind (vector, raster, point cloud, time series,
attribute table) declares its fiche spec, formats, criteria traits, landing, observation, SQL
views and catalog assets. Adding a kind means adding its module and one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jnft.kinds.base import Kind, Landing, Observation, Scope
from jnft.kinds.pointcloud import PointCloudKind
from jnft.kinds.raster import RasterKind
from jnft.kinds.table import TableKind
from jnft.kinds.timeseries import TimeSeriesKind
from jnft.kinds.vector import VectorKind

if TYPE_CHECKING:
    from jnft.quality.fiche import Fiche

KINDS: dict[str, Kind[Any]] = {
    k.name: k for k in (VectorKind(), RasterKind(), PointCloudKind(), TimeSeriesKind(), TableKind())
}


def kind_of(fiche: Fiche) -> Kind[Any]:
    return KINDS[fiche.kind]


__all__ = ["KINDS", "Kind", "Landing", "Observation", "Scope", "kind_of"]
