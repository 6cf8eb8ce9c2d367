"""Materialization metadata: a kind's landing report, and PNG previews, as Dagster values."""

from __future__ import annotations

import base64

import dagster as dg
import pyarrow as pa

from jnft.kinds import Landing


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    encoded = base64.b64encode(png).decode()
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def landing_metadata(landing: Landing) -> dict:
    """Plain values as they are (lists and mappings as JSON), tables as Markdown, the URI as
    a path, the schema as a table schema, the preview as an image."""
    metadata: dict = {
        name: dg.JsonMetadataValue(value) if isinstance(value, list | dict | None) else value
        for name, value in landing.values.items()
    }
    metadata["dagster/uri"] = dg.MetadataValue.path(landing.uri)
    metadata |= {name: dg.MetadataValue.md(text) for name, text in landing.markdown.items()}
    if landing.schema is not None:
        metadata["dagster/column_schema"] = table_schema(landing.schema)
    if landing.preview is not None:
        metadata["preview"] = png_markdown(landing.preview, "preview")
    return metadata
