"""The `jnft` command: generate the sample territory, run the demo, query with SQL."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

from jnft.settings import load_settings


def _sample(args: argparse.Namespace) -> int:
    from jnft.sampledata.generate import generate
    from jnft.sampledata.territory import SMALL, SampleTerritory

    manifest = generate(Path(args.out), SMALL if args.small else SampleTerritory())
    print(f"{manifest['name']}: tiles {', '.join(manifest['tiles'])} -> {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from jnft.orchestration.demo import run_demo

    problems = run_demo(serve=os.environ.get("JNFT_SERVE", "1") != "0" and not args.no_serve)
    return 1 if problems else 0


def _sql(args: argparse.Namespace) -> int:
    from jnft.lakehouse.database import connect
    from jnft.lakehouse.store import Lakehouse

    path = (
        Path(args.database)
        if args.database
        else Lakehouse.at(load_settings().lakehouse).duckdb_path
    )
    with connect(path, read_only=True) as con:
        relation = con.sql(args.query)
        if relation is None:
            return 0
        if args.csv:
            writer = csv.writer(sys.stdout)
            writer.writerow(relation.columns)
            writer.writerows(relation.fetchall())
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    return 0


def _concepts_list(args: argparse.Namespace) -> int:
    from jnft.lakehouse.store import Lakehouse
    from jnft.quality.characterize import has_data
    from jnft.quality.checks import evaluate
    from jnft.quality.fiche import load_fiches
    from jnft.quality.observe import observe

    store = Lakehouse.at(load_settings().lakehouse)
    print(f"{'concept':30s} {'role':18s} {'kind':11s} {'public':7s} C1..C10")
    for fiche in load_fiches(load_settings().concepts):
        if has_data(store, fiche):
            outcomes = evaluate(fiche, observe(store, fiche, None))
            marks = "".join("✓" if o.passed else "✗" for o in outcomes.values())
        else:
            marks = "not materialized"
        print(f"{fiche.id:30s} {fiche.role:18s} {fiche.kind:11s} {fiche.is_public!s:7s} {marks}")
    return 0


def _concepts_characterize(args: argparse.Namespace) -> int:
    from jnft.lakehouse.store import Lakehouse
    from jnft.quality import characterize as ch
    from jnft.quality.checks import evaluate
    from jnft.quality.fiche import load_fiche
    from jnft.quality.observe import observe

    path = load_settings().concepts / f"{args.concept}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no fiche concepts/{args.concept}.yaml")
    fiche = load_fiche(path)
    store = Lakehouse.at(load_settings().lakehouse)
    if not ch.has_data(store, fiche):
        raise FileNotFoundError(f"{fiche.id} is not materialized in {store.root} (make demo)")
    rows = ch.current_rows(store, fiche)
    obs = observe(store, fiche, None, rows=rows)  # read once, observed and characterized
    draft = ch.characterize(fiche, rows, obs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{fiche.id}.yaml").write_text(ch.draft_yaml(draft), encoding="utf-8")
    (out / f"{fiche.id}.md").write_text(
        ch.markdown(fiche, draft, evaluate(fiche, obs)), encoding="utf-8"
    )
    print(f"{out / fiche.id}.yaml and .md written")
    return 0


def _concepts_pipeline(args: argparse.Namespace) -> int:
    import json

    from jnft.kinds.pointcloud import PointCloudSpec
    from jnft.quality.fiche import load_fiche

    fiche = load_fiche(load_settings().concepts / f"{args.concept}.yaml")
    if not isinstance(fiche.spec, PointCloudSpec):
        raise ValueError(f"{fiche.id} is not a point-cloud concept: it has no pipelines")
    pipelines = fiche.spec.pipelines()
    if args.product not in pipelines:
        raise ValueError(f"{fiche.id} has no product {args.product!r}: {sorted(pipelines)}")
    output = args.output or f"{fiche.id}_{args.product}.tif"
    document = pipelines[args.product].to_pdal(args.files, output)
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S"
    )
    for noisy in ("alembic", "great_expectations"):  # migrations, suite internals
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="jnft", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate the sample territory's sources")
    sample.add_argument("--out", default=str(load_settings().sources))
    sample.add_argument("--small", action="store_true", help="4 km × 2 km, for tests")
    sample.set_defaults(func=_sample)

    demo = commands.add_parser("demo", help="generate, materialize everything, serve the UI")
    demo.add_argument("--no-serve", action="store_true", help="stop after materializing")
    demo.set_defaults(func=_demo)

    sql = commands.add_parser("sql", help="run a query on lakehouse.duckdb (read-only)")
    sql.add_argument("query")
    sql.add_argument("--database", help="a DuckDB file (default: the lakehouse's)")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sql.add_argument("--max-rows", type=int, default=40)
    sql.set_defaults(func=_sql)

    concepts = commands.add_parser(
        "concepts", help="geo-concepts: list, characterize, export PDAL pipelines"
    )
    verbs = concepts.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="every concept with its role and its 10 checks")
    listing.set_defaults(func=_concepts_list)
    charac = verbs.add_parser("characterize", help="observable fields of a concept, from data")
    charac.add_argument("concept")
    charac.add_argument("--out", default="./.jnft/characterization")
    charac.set_defaults(func=_concepts_characterize)
    pdal = verbs.add_parser(
        "pipeline", help="a point-cloud product as a PDAL JSON pipeline (for `pdal pipeline`)"
    )
    pdal.add_argument("concept")
    pdal.add_argument("product")
    pdal.add_argument("files", nargs="+", help="LAS/LAZ/COPC files to read")
    pdal.add_argument("--output", help="GeoTIFF to write (default <concept>_<product>.tif)")
    pdal.set_defaults(func=_concepts_pipeline)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"jnft: {error}", file=sys.stderr)
        return 2
