"""Benchmark harness: each measurement runs in a fresh spawned process (clean peak memory;
deltalake must not run in a forked child), ours and the baseline alternate, medians are reported.

A task is `(prepare, run, args)`: `prepare(*args)` runs first, untimed (imports, loading the
inputs), and returns the arguments of `run`, which alone is timed.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty

RESULTS = Path(__file__).parent / "results"
Task = tuple[Callable[..., tuple], Callable[..., object], tuple]


def peak_rss_mb() -> float:
    """High-water mark of this process's resident memory (VmHWM: reset by exec, unlike
    getrusage's ru_maxrss, which a spawned child inherits from its parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(task: Task, queue) -> None:
    prepare, run, args = task
    inputs = prepare(*args)
    started = time.perf_counter()
    run(*inputs)
    elapsed = time.perf_counter() - started
    queue.put((elapsed, peak_rss_mb()))


def measure(task: Task) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one run of a task in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(task, queue))
    process.start()
    while True:  # a child that dies never answers: watch it instead of blocking forever
        try:
            elapsed, peak = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"{task[1].__name__} died in its process (exit code {process.exitcode})"
                ) from None
    process.join()
    return elapsed, peak


def compare(
    ours: Task, baseline: Task, repeats: int, setup: Callable[[], None] | None = None
) -> dict:
    """Alternate ours and the baseline `repeats` times; medians of time and peak memory."""
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    peaks: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(repeats):
        for name, task in (("ours", ours), ("baseline", baseline)):
            if setup is not None:
                setup()
            seconds, peak = measure(task)
            times[name].append(seconds)
            peaks[name].append(peak)
            print(f"  {name:8s} {seconds:8.2f} s  peak {peak:7.0f} MB", flush=True)
    return {
        name: {
            "seconds": statistics.median(times[name]),
            "all": times[name],
            "peak_rss_mb": statistics.median(peaks[name]),
        }
        for name in times
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
    }


def record(
    name: str,
    metric: str,
    unit: str,
    measured: dict,
    work: tuple[float, float],
    baseline_name: str,
    params: dict,
    **extra,
) -> dict:
    """The result object of a `compare`: throughputs are `work` (ours, baseline: rows,
    points, cells… done in a run) over the median seconds."""
    ours = work[0] / measured["ours"]["seconds"]
    baseline = work[1] / measured["baseline"]["seconds"]
    return {
        "name": name,
        "metric": metric,
        "unit": unit,
        "ours": round(ours),
        "baseline_name": baseline_name,
        "baseline": round(baseline),
        "ratio": round(ours / baseline, 2),
        "peak_rss_mb": round(measured["ours"]["peak_rss_mb"]),
        "baseline_peak_rss_mb": round(measured["baseline"]["peak_rss_mb"]),
        "seconds": {k: round(v["seconds"], 3) for k, v in measured.items()},
        **extra,
        "params": params,
        "machine": machine(),
    }


def write(name: str, results: list[dict]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    return path
