"""Materialization metadata of layers: counts, extent, CRS, Delta version, schema, preview."""

from __future__ import annotations

import base64

import dagster as dg
import pyarrow as pa

from jnft.ingest.vintages import IngestReport
from jnft.lakehouse.summary import LayerSummary


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    encoded = base64.b64encode(png).decode()
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def layer_metadata(summary: LayerSummary, uri: str, preview: bytes | None) -> dict:
    metadata: dict = {
        "dagster/row_count": summary.rows,
        "crs": summary.crs,
        "bbox": dg.MetadataValue.json(list(summary.bbox) if summary.bbox else None),
        "delta_version": summary.versions_version,
        "closures_delta_version": summary.closures_version,
        "dagster/uri": dg.MetadataValue.path(uri),
    }
    if summary.schema is not None:
        metadata["dagster/column_schema"] = table_schema(summary.schema)
    if preview is not None:
        metadata["preview"] = png_markdown(preview, "map preview")
    return metadata


def ingest_metadata(report: IngestReport) -> dict:
    totals = report.totals()
    return {
        "vintages_merged": dg.MetadataValue.json([m.vintage.isoformat() for m in report.merges]),
        "vintages_already_merged": dg.MetadataValue.json(report.skipped_vintages),
        "inserted": totals["inserted"],
        "changed": totals["changed"],
        "closed": totals["closed"],
        "quarantined": report.quarantined,
        "repaired_geometries": report.repaired,
        "rejected_files": dg.MetadataValue.json(report.rejected_files),
        "incomplete_vintages": dg.MetadataValue.json(report.incomplete_vintages),
    }
