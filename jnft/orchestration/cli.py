"""The `jnft` command: generate the sample territory, run the demo, query with SQL."""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path


def _sample(args: argparse.Namespace) -> int:
    from jnft.sampledata.generate import generate
    from jnft.sampledata.territory import SMALL, Territory

    manifest = generate(Path(args.out), SMALL if args.small else Territory())
    print(f"{manifest['name']}: tiles {', '.join(manifest['tiles'])} -> {args.out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from jnft.orchestration.demo import run_demo

    run_demo(serve=os.environ.get("JNFT_SERVE", "1") != "0" and not args.no_serve)
    return 0


def _sql(args: argparse.Namespace) -> int:
    from jnft.lakehouse.database import connect
    from jnft.lakehouse.store import Lakehouse

    path = Path(args.database) if args.database else Lakehouse.from_env().duckdb_path
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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # instance storage migrations
    parser = argparse.ArgumentParser(prog="jnft", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate the sample territory's sources")
    sample.add_argument("--out", default=os.environ.get("JNFT_SOURCES", "./.jnft/sources"))
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

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"jnft: {error}", file=sys.stderr)
        return 2
