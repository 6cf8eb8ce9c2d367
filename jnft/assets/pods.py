"""What each kind of step asks Kubernetes for: its container's cpu and memory, as the
`dagster-k8s/config` op tag. dagster-k8s's `k8s_job_executor` reads a step's op tags (never the
asset's `tags=`) for the pod it creates for that step; the `K8sRunLauncher` reads the run's
tags, which a run gets from whoever launches it (infra/dagster-k8s.yaml and
infra/helm/values.yaml size the run pod)."""

import json
from typing import Any

K8S_CONFIG_TAG = "dagster-k8s/config"

# Measured by bench/flood_memory.py on the sample territory: 747 MiB peak RSS at most over its
# six scenario × tile partitions (Python, Dagster, the inputs, the model, the COGs written, in
# one process; 736 MiB for a dry tile: imports and the layers read are nearly all of it, the
# domains there hold at most 13 k cells). Request: that peak + 50 % (1121 MiB), rounded up.
# Above it, memory grows with the connected domain's cells, about 0.1 KB each for the model's
# grids (bench/results/flood_kernel.json: 486 MB for 4 M cells) plus the DEM read over the
# domain: the 4 GiB limit leaves some 3 GiB above the measured peak, about 30 M cells of grids
# (140 km × 140 km at 25 m), less the DEM.
# Re-measure on a real territory (bench/flood_memory.py) before sizing the nodes.
FLOOD_CPUS = 4
FLOOD_CONTAINER = {
    "resources": {
        "requests": {"cpu": str(FLOOD_CPUS), "memory": "1152Mi"},
        "limits": {"cpu": str(FLOOD_CPUS), "memory": "4Gi"},
    },
    # numba sizes its thread pool on the node's cores, not the container's cpu limit: more
    # threads than the limit allows would be throttled.
    "env": [{"name": "NUMBA_NUM_THREADS", "value": str(FLOOD_CPUS)}],
}
# A layer's tile, not measured as a step: vector ingest peaks at 2.0 GB for 1 M rows, LiDAR at
# 1.3 GB for 10 M points (bench/results/ingest_vector.json, ingest_lidar.json).
LAYER_CONTAINER = {
    "resources": {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    },
}


def k8s_op_tags(container: dict[str, Any]) -> dict[str, str]:
    """The op tag that sets a step's container on Kubernetes (a Kubernetes `Container`'s
    fields, snake_case, merged into the one dagster-k8s builds)."""
    return {K8S_CONFIG_TAG: json.dumps({"container_config": container})}
