"""The `jnft` command: create a project, add a territory's deliveries, check what it has, run
it (the demo is the sample project's run), query it with SQL, read its design events."""

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

    out = Path(args.out) if args.out else load_settings().sources
    manifest = generate(out, SMALL if args.small else SampleTerritory())
    print(f"{manifest['name']}: tiles {', '.join(manifest['tiles'])} -> {out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from jnft.orchestration.demo import run_demo

    problems = run_demo(serve=os.environ.get("JNFT_SERVE", "1") != "0" and not args.no_serve)
    return 1 if problems else 0


def _run(args: argparse.Namespace) -> int:
    from jnft.orchestration.demo import run_demo

    return 1 if run_demo(serve=args.serve) else 0


def _init(args: argparse.Namespace) -> int:
    from jnft.project import init_project

    made = init_project(Path(args.folder), sample=args.sample)
    print(f"project {Path(args.folder).resolve()}: {', '.join(made)}")
    if args.sample:
        print("next: cd into it and `jnft run` (the sample sources are generated first)")
    else:
        print("next: cd into it and `jnft territory add DELIVERY_DIR`")
    return 0


def _territory_add(args: argparse.Namespace) -> int:
    from jnft.products.territory import add_territory

    report = add_territory(Path(args.delivery), load_settings().project, force=args.force)
    print("\n".join(report.lines()))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from jnft.project import doctor

    lines = doctor(load_settings())
    print("\n".join(lines))
    return 1 if any("✗" in line for line in lines) else 0


def _backfill(args: argparse.Namespace) -> int:
    import dagster as dg

    from jnft.orchestration.backfill import daemon_running, launch_backfill, wait_for_backfill
    from jnft.orchestration.definitions import build_definitions
    from jnft.orchestration.partitions import declared_scenarios, territory_tiles

    settings = load_settings()
    instance = dg.DagsterInstance.get()
    tiles = args.tile or territory_tiles(settings.sources)
    scenarios = args.scenario or declared_scenarios(settings.scenarios)
    assets = [dg.AssetKey(key.split("/")) for key in args.asset] or None
    backfill = launch_backfill(instance, build_definitions(settings), tiles, scenarios, assets)
    print(f"backfill {backfill}: {len(tiles)} tile(s) × {len(scenarios)} scenario(s)")
    if not daemon_running(instance):
        print("no daemon is running: start `dagster-daemon run -w workspace.yaml`")
    if args.wait is None:
        return 0
    status = wait_for_backfill(instance, backfill, args.wait)
    print(f"backfill {backfill}: {status.value}")
    return 0 if status.value == "COMPLETED_SUCCESS" else 1


def _screen(args: argparse.Namespace) -> int:
    from jnft.kinds import kind_of
    from jnft.lakehouse.read import layer
    from jnft.lakehouse.store import Lakehouse
    from jnft.ogcapi.mosaic import write_vrt
    from jnft.quality.fiche import filling, load_fiches
    from jnft.simulation.outofcore import QUANTITIES, screen
    from jnft.simulation.outofcore.cluster import dask_client

    # Importing distributed set its loggers to INFO: a cluster's start and stop say nothing.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    settings = load_settings()
    store = Lakehouse.of(settings)
    out = Path(args.out).resolve() if args.out else store.root / "gold" / "screening"
    inside = out.is_relative_to(store.root)
    if inside and not store.whole(out):  # its publishing would delete the objects it lacks
        raise ValueError(f"--out {out}: in the lakehouse, only below {store.root}/gold/screening")
    if args.dem:
        dem = Path(args.dem)
    else:  # the lakehouse's terrain: the mosaic of its current COG tiles
        terrain = filling(load_fiches(settings.concepts), "terrain")
        assert terrain is not None  # required
        present = kind_of(terrain).exists(store, terrain)
        rows = layer(store, terrain.id, ["path"])["path"].to_pylist() if present else []
        if not rows:
            raise FileNotFoundError(f"no {terrain.id} tile in the lakehouse: `jnft run` first")
        paths = [store.file(p) for p in rows]
        dem = write_vrt(paths, out / "dem.vrt")
    with dask_client(args.workers) as client:
        print(f"screening {dem} in tiles of {args.tile} cells on {client.dashboard_link}")
        result = screen(
            dem, out, client, tile=args.tile, threshold_km2=args.threshold_km2, outlets=args.outlets
        )
    if inside:  # in the bucket too, when the lakehouse is one
        store.publish(out)
    stages = ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in result.seconds.items())
    print(f"{result.tiles} tile(s), {result.flat_rounds} direction round(s): {stages}")
    for quantity in QUANTITIES:
        path = result.path(quantity)
        print(f"{quantity:12s} {store.uri(path) if inside else path}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from jnft.viewer import serve

    serve(load_settings(), args.host, args.port)
    return 0


def _status(args: argparse.Namespace) -> int:
    from jnft.project import status

    print("\n".join(status(load_settings())))
    return 0


def _design(args: argparse.Namespace) -> int:
    from jnft.lakehouse.read import scenario_series
    from jnft.lakehouse.store import Lakehouse
    from jnft.simulation.plan import design_event
    from jnft.simulation.scenario import load_scenario

    settings = load_settings()
    scenario = load_scenario(settings.scenarios / f"{args.scenario}.yaml")
    series = scenario_series(Lakehouse.of(settings), scenario.series())
    print(f"{scenario.id}: {scenario.title}")
    for name, value in design_event(scenario, series).items():
        if isinstance(value, dict):  # the fitted parameters
            value = ", ".join(f"{k} = {v:.4g}" for k, v in value.items())
        print(f"  {name}: {value}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from jnft.lakehouse.database import connect
    from jnft.lakehouse.store import Lakehouse

    if args.database:
        path = Path(args.database)
    else:
        store = Lakehouse.of(load_settings())
        try:
            path = store.fetch(store.duckdb_path)
        except FileNotFoundError:
            path = store.duckdb_path  # `connect` says how to make it
    with connect(path, read_only=True) as con:
        try:
            relation = con.sql(args.query)
            if relation is None:
                return 0
            if args.csv:
                writer = csv.writer(sys.stdout)
                writer.writerow(relation.columns)
                writer.writerows(relation.fetchall())
            else:
                relation.show(max_rows=args.max_rows, max_width=200)
        except duckdb.Error as error:
            # An ordinary SQL mistake: DuckDB's message says where, no traceback.
            print(f'jnft sql: {error}\n(`jnft sql "SHOW TABLES"` lists the views)', file=sys.stderr)
            return 2
    return 0


def _concepts_list(args: argparse.Namespace) -> int:
    from jnft.lakehouse.store import Lakehouse
    from jnft.quality.characterize import has_data
    from jnft.quality.checks import evaluate
    from jnft.quality.fiche import load_fiches
    from jnft.quality.observe import observe

    store = Lakehouse.of(load_settings())
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
    store = Lakehouse.of(load_settings())
    if not ch.has_data(store, fiche):
        raise FileNotFoundError(f"{fiche.id} is not materialized in {store.root} (jnft run)")
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
    parser.add_argument(
        "--project", help="the project folder (default: the nearest with a jnft.yaml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create a project folder")
    init.add_argument("folder")
    init.add_argument("--sample", action="store_true", help="with the sample territory")
    init.set_defaults(func=_init)

    territory = commands.add_parser("territory", help="the project's territory")
    territory_verbs = territory.add_subparsers(dest="verb", required=True)
    add = territory_verbs.add_parser(
        "add", help="recognize IGN/INSEE deliveries: write fiches and the territory's tiles"
    )
    add.add_argument("delivery", help="a delivery folder (zip archives are unpacked)")
    add.add_argument("--force", action="store_true", help="overwrite fiches edited by hand")
    add.set_defaults(func=_territory_add)

    doctor = commands.add_parser("doctor", help="what the project has and lacks, for each scenario")
    doctor.set_defaults(func=_doctor)

    serving = commands.add_parser(
        "serve", help="the territory viewer (web map) and the OGC APIs (/ogc)"
    )
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=int(os.environ.get("JNFT_VIEWER_PORT", 8000)))
    serving.set_defaults(func=_serve)

    state = commands.add_parser(
        "status", help="per concept: rows, quarantine, staged deliveries, failing checks"
    )
    state.set_defaults(func=_status)

    run = commands.add_parser("run", help="materialize the project's territory and floods")
    run.add_argument("--serve", action="store_true", help="then serve the Dagster UI")
    run.set_defaults(func=_run)

    backfill = commands.add_parser(
        "backfill", help="submit the territory to a configured instance's daemon (Postgres…)"
    )
    backfill.add_argument("--tile", action="append", default=[], help="default: territory.yaml")
    backfill.add_argument("--scenario", action="append", default=[], help="default: scenarios/")
    backfill.add_argument("--asset", action="append", default=[], help="e.g. simulation/flood")
    backfill.add_argument(
        "--wait", nargs="?", type=float, const=3600.0, help="wait for the end (seconds)"
    )
    backfill.set_defaults(func=_backfill)

    screening = commands.add_parser(
        "screen",
        help="fill, D8, accumulation and HAND of a DEM larger than memory, tile by tile on Dask",
    )
    screening.add_argument("--dem", help="a GeoTIFF or VRT (default: the lakehouse's terrain)")
    screening.add_argument("--out", help="default: <lakehouse>/gold/screening")
    screening.add_argument("--tile", type=int, default=2048, help="cells per tile side")
    screening.add_argument("--threshold-km2", type=float, default=1.0, help="streams' area")
    screening.add_argument(
        "--outlets", choices=["edges", "data_edges"], default="edges", help="where water leaves"
    )
    screening.add_argument(
        "--workers",
        type=int,
        help="of a LocalCluster (default: one per core) when no "
        "scheduler is configured (DASK_SCHEDULER_ADDRESS, infra/dask/dask.yaml)",
    )
    screening.set_defaults(func=_screen)

    design = commands.add_parser(
        "design", help="a scenario's design event: law, fit, return level and its interval"
    )
    design.add_argument("scenario")
    design.set_defaults(func=_design)

    sample = commands.add_parser("sample", help="generate the sample territory's sources")
    sample.add_argument("--out", help="where (default: the project's sources)")
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
    if args.project:
        os.environ["JNFT_PROJECT_DIR"] = str(Path(args.project).resolve())
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, TimeoutError) as error:
        print(f"jnft: {error}", file=sys.stderr)
        return 2
