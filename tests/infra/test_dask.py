"""Production points the out-of-core screening at its Dask cluster by configuration only: the
YAML of `infra/dask/` is Dask configuration the client reads, and the DaskCluster manifest (a
CRD of the Dask Kubernetes operator: no schema to validate against here) has the fields the
address relies on, its pod specs valid Kubernetes pod specs."""

import dask
import pytest
import yaml

from jnft.simulation.outofcore.cluster import scheduler_address
from tests.factories import PROJECT_DIR

DASK = PROJECT_DIR / "infra" / "dask"


def test_the_dask_yaml_names_the_scheduler_the_client_uses():
    config = dask.config.collect(paths=[str(DASK)], env={})
    with dask.config.set(config):
        assert scheduler_address() == "tcp://jnft-dask-scheduler.jnft.svc.cluster.local:8786"


def test_the_environment_overrides_the_file(monkeypatch):
    config = dask.config.collect(
        paths=[str(DASK)], env={"DASK_SCHEDULER_ADDRESS": "tcp://elsewhere:8786"}
    )
    with dask.config.set(config):
        assert scheduler_address() == "tcp://elsewhere:8786"


def test_the_daskcluster_serves_the_configured_address():
    manifest = yaml.safe_load((DASK / "daskcluster.yaml").read_text(encoding="utf-8"))
    assert (manifest["apiVersion"], manifest["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    port = manifest["spec"]["scheduler"]["service"]["ports"][0]["port"]
    config = yaml.safe_load((DASK / "dask.yaml").read_text(encoding="utf-8"))
    # The operator's Service for the scheduler is `<name>-scheduler`.
    assert config["scheduler-address"] == (
        f"tcp://{name}-scheduler.{namespace}.svc.cluster.local:{port}"
    )
    worker = manifest["spec"]["worker"]["spec"]["containers"][0]
    assert worker["args"][:2] == ["dask", "worker"] and "--nthreads" in worker["args"]


def test_the_pod_specs_are_valid_kubernetes():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    manifest = yaml.safe_load((DASK / "daskcluster.yaml").read_text(encoding="utf-8"))
    for part in ("worker", "scheduler"):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": part},
               "spec": manifest["spec"][part]["spec"]}  # fmt: skip
        kubernetes_validate.validate(pod, "1.30.0", strict=True)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "scheduler"},
               "spec": manifest["spec"]["scheduler"]["service"]}  # fmt: skip
    kubernetes_validate.validate(service, "1.30.0", strict=True)
