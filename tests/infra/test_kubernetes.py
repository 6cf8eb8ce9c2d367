"""The Kubernetes deployment, checked without a cluster: the instance config
(`infra/dagster-k8s.yaml`) builds its K8sRunLauncher, a flood run becomes the Job it submits (the
Kubernetes API mocked), and that Job, the manifests of `infra/k8s/` and the instance's ConfigMap
are valid Kubernetes objects (`kubernetes-validate`'s schemas); the Helm values say the same."""

from collections.abc import Iterator
from typing import Any
from unittest import mock

import dagster as dg
import pytest
import yaml

from jnft.assets.pods import FLOOD_CONTAINER, K8S_CONFIG_TAG, LAYER_CONTAINER
from jnft.assets.simulation import FLOOD_KEY
from jnft.orchestration.definitions import defs
from jnft.orchestration.partitions import scenario_tiles
from tests.factories import PROJECT_DIR

dagster_k8s = pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed")
kubernetes_validate = pytest.importorskip("kubernetes_validate")
from dagster._core.definitions.reconstruct import ReconstructableRepository  # noqa: E402
from dagster._core.launcher import LaunchRunContext  # noqa: E402
from kubernetes.client import ApiClient  # noqa: E402
from kubernetes.utils import parse_quantity  # noqa: E402

INFRA = PROJECT_DIR / "infra"
# A release managed clusters still run, and the newest kubernetes-validate 1.37 has schemas of.
KUBERNETES = ("1.30.0", "1.37.0")
ENV = {
    "DAGSTER_PG_HOST": "postgres.jnft.svc.cluster.local",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "pg-password-not-to-leak",
    "DAGSTER_PG_DB": "dagster",
    "JNFT_IMAGE": "registry.example.org/jnft:1.0.0",
}
PARTITION = dg.MultiPartitionKey({"scenario": "crue_q100", "tile": "0390_6550"})
FLOOD_STEP = "simulation__flood"


def instance_config() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "dagster-k8s.yaml").read_text(encoding="utf-8"))


def as_manifest(job: object) -> dict[str, Any]:
    """The object as the API server receives it: camelCase JSON, None fields left out."""
    return ApiClient().sanitize_for_serialization(job)


def validate(manifest: dict[str, Any]) -> None:
    """Strict: an unknown field is an error, as the API server's field validation makes it."""
    for version in KUBERNETES:
        kubernetes_validate.validate(manifest, version, strict=True)


def memory_gib(quantity: str) -> float:
    """A memory quantity in GiB (the schemas take any string: this parses it as the server)."""
    return float(parse_quantity(quantity)) / 2**30


@pytest.fixture
def k8s_instance(monkeypatch, tmp_path) -> Iterator[dg.DagsterInstance]:
    """An instance with the run launcher and run coordinator of `infra/dagster-k8s.yaml`
    (storage in SQLite: Postgres is checked by tests/orchestration), out of any cluster."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = instance_config()
    del config["storage"]
    with (
        mock.patch("dagster_k8s.launcher.load_kubernetes_config"),  # no kubeconfig, no pod
        mock.patch("kubernetes.client.BatchV1Api"),
        mock.patch("kubernetes.client.CoreV1Api"),
        dg.instance_for_test(overrides=config, temp_dir=str(tmp_path)) as instance,
    ):
        yield instance


def flood_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    """A run of one flood partition, as the daemon creates it from a backfill or the UI."""
    repository = ReconstructableRepository.for_module("jnft.orchestration.definitions", "defs")
    job = defs.resolve_implicit_global_asset_job_def()
    origin = repository.get_reconstructable_job(job.name).get_python_origin()
    return instance.create_run_for_job(
        job.get_subset(asset_selection={FLOOD_KEY}),
        tags={**scenario_tiles.get_tags_for_partition_key(PARTITION), **tags},
        asset_selection={FLOOD_KEY},
        job_code_origin=origin,
    )


def submitted_job(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, Any]:
    """Launch the run; the Job the launcher posted to the (mocked) Kubernetes API."""
    launcher = instance.run_launcher
    assert isinstance(launcher, dagster_k8s.K8sRunLauncher)
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    create = launcher._api_client.batch_api.create_namespaced_job
    create.assert_called_once()
    assert create.call_args.kwargs["namespace"] == "jnft"
    return as_manifest(create.call_args.kwargs["body"])


def test_the_instance_config_is_a_valid_dagster_instance(monkeypatch, tmp_path):
    """The whole file, Postgres storage included, passes Dagster's own instance schema, and
    the instance a run pod receives in its command holds `env:` references, not the password
    (the pod resolves them from the secret)."""
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import serialize_value

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "dagster.yaml").write_text(
        (INFRA / "dagster-k8s.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    ref = InstanceRef.from_dir(str(tmp_path))
    assert ref.run_launcher_data is not None
    assert ref.run_launcher_data.class_name == "K8sRunLauncher"
    storage = yaml.safe_load(ref.storage_data.config_yaml)
    one_machine = yaml.safe_load((INFRA / "dagster.yaml").read_text(encoding="utf-8"))
    assert storage == one_machine["storage"]["postgres"]
    assert storage["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    sent = serialize_value(ref)
    assert "DAGSTER_PG_PASSWORD" in sent and ENV["DAGSTER_PG_PASSWORD"] not in sent


def test_a_flood_run_is_a_job_from_the_instance_config(k8s_instance):
    run = flood_run(k8s_instance, {})
    assert "dagster/partition/scenario" in run.tags  # what the queue limits floods by
    job = submitted_job(k8s_instance, run)
    launcher_config = instance_config()["run_launcher"]["config"]
    assert job["metadata"]["labels"]["dagster/run-id"] == run.run_id
    assert (
        job["spec"]["ttlSecondsAfterFinished"]
        == (launcher_config["run_k8s_config"]["job_spec_config"]["ttl_seconds_after_finished"])
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "jnft-runs"
    (container,) = pod["containers"]
    assert container["image"] == ENV["JNFT_IMAGE"]
    assert {"secretRef": {"name": "jnft-postgres"}} in container["envFrom"]
    assert {"secretRef": {"name": "jnft-lakehouse"}} in container["envFrom"]
    assert {"name": "DAGSTER_HOME", "value": launcher_config["dagster_home"]} in container["env"]
    assert container["args"][:3] == ["dagster", "api", "execute_run"]
    # Steps run inside the run pod, one per core at once: it must hold a flood, or as many
    # layer steps as it has cores.
    resources = container["resources"]
    flood, layer = FLOOD_CONTAINER["resources"], LAYER_CONTAINER["resources"]
    cores = int(resources["limits"]["cpu"])
    for bound in ("requests", "limits"):
        held = memory_gib(resources[bound]["memory"])
        assert held >= memory_gib(flood[bound]["memory"])
        assert held >= cores * memory_gib(layer[bound]["memory"])
    assert resources["limits"]["cpu"] == flood["limits"]["cpu"]
    assert FLOOD_CONTAINER["env"][0] in container["env"]
    validate(job)


def test_a_run_tagged_like_the_flood_step_gets_its_container(k8s_instance):
    """The launcher reads the run's tags: a run launched with the flood op's tag (launchpad
    tags, a RunRequest's) is sized by it, not by the instance's default."""
    flood_tag = defs.get_assets_def(FLOOD_KEY).op.tags[K8S_CONFIG_TAG]
    job = submitted_job(k8s_instance, flood_run(k8s_instance, {K8S_CONFIG_TAG: flood_tag}))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == FLOOD_CONTAINER["resources"]
    assert FLOOD_CONTAINER["env"][0] in container["env"]
    assert container["image"] == ENV["JNFT_IMAGE"]
    validate(job)


def test_the_op_tags_are_what_the_k8s_executor_reads_for_each_step():
    """Per step, dagster-k8s reads op tags (an asset's `tags=` never reach a pod): the flood's
    and every layer's steps carry a container config Kubernetes accepts."""
    from dagster_k8s.job import get_user_defined_k8s_config

    graph = defs.resolve_asset_graph()
    layers = [k for k in graph.get_all_asset_keys() if k.path[0] == "silver"]
    assert layers
    for key, expected in [(FLOOD_KEY, FLOOD_CONTAINER)] + [(k, LAYER_CONTAINER) for k in layers]:
        assets_def = defs.get_assets_def(key)
        assert K8S_CONFIG_TAG not in assets_def.tags_by_key[key]
        config = get_user_defined_k8s_config(assets_def.op.tags)
        assert config.container_config == expected
        for bound in expected["resources"].values():
            assert parse_quantity(bound["cpu"]) > 0 and memory_gib(bound["memory"]) > 0
        # Our fields (resources, env) are spelled alike in dagster-k8s's snake_case and the API.
        container = {"name": "step", "image": ENV["JNFT_IMAGE"], **expected}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "step"},
               "spec": {"containers": [container]}}  # fmt: skip
        validate(pod)


@pytest.mark.parametrize("manifest", sorted((INFRA / "k8s").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_cluster_objects_are_valid_kubernetes(manifest):
    documents = [d for d in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if d]
    assert documents
    for document in documents:
        validate(document)
        assert document["kind"] == "Namespace" or document["metadata"]["namespace"] == "jnft"


def test_the_instance_configmap_is_valid_kubernetes():
    """What `kubectl create configmap jnft-dagster-instance --from-file=dagster.yaml=...`
    makes of the instance config: what the daemon's and the webserver's pods read at
    DAGSTER_HOME (the launcher's schema requires its name too)."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "jnft-dagster-instance", "namespace": "jnft"},
        "data": {"dagster.yaml": (INFRA / "dagster-k8s.yaml").read_text(encoding="utf-8")},
    }
    validate(config_map)
    launcher = instance_config()["run_launcher"]["config"]
    assert launcher["instance_config_map"] == config_map["metadata"]["name"]
    secret = yaml.safe_load((INFRA / "k8s" / "postgres-secret.yaml").read_text(encoding="utf-8"))
    assert secret["metadata"]["name"] in launcher["env_secrets"]
    assert set(secret["stringData"]) == {n for n in ENV if n.startswith("DAGSTER_PG_")}


def test_the_helm_values_carry_the_same_limits():
    values = yaml.safe_load((INFRA / "helm" / "values.yaml").read_text(encoding="utf-8"))
    config = instance_config()
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_config = config["run_launcher"]["config"]["run_k8s_config"]
    assert launcher["runK8sConfig"]["containerConfig"] == run_config["container_config"]
    ttl = launcher["runK8sConfig"]["jobSpecConfig"]["ttlSecondsAfterFinished"]
    assert ttl == run_config["job_spec_config"]["ttl_seconds_after_finished"]
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    expected = config["run_coordinator"]["config"]
    assert queued["maxConcurrentRuns"] == expected["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == expected["tag_concurrency_limits"]
    one_machine = yaml.safe_load((INFRA / "dagster.yaml").read_text(encoding="utf-8"))
    floods = {"key": "dagster/partition/scenario", "limit": 1}
    assert floods in queued["tagConcurrencyLimits"]
    assert floods in one_machine["run_coordinator"]["config"]["tag_concurrency_limits"]


def test_with_the_k8s_executor_the_flood_step_pod_is_sized_by_its_op_tag(k8s_instance):
    """`executor=k8s_job_executor` on the definitions would run each step in its own pod: the
    flood's pod then takes its container from the op tag, the rest from the instance."""
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
    from dagster._core.execution.context_creation_job import create_context_free_log_manager
    from dagster._core.execution.retries import RetryMode
    from dagster._core.executor.init import InitExecutorContext
    from dagster._core.executor.step_delegating import StepHandlerContext
    from dagster._grpc.types import ExecuteStepArgs
    from dagster_k8s.executor import _K8S_EXECUTOR_CONFIG_SCHEMA, k8s_job_executor

    run = flood_run(k8s_instance, {})
    repository = ReconstructableRepository.for_module("jnft.orchestration.definitions", "defs")
    job = repository.get_reconstructable_job(run.job_name).get_subset(asset_selection={FLOOD_KEY})
    config = process_config(resolve_to_config_type(_K8S_EXECUTOR_CONFIG_SCHEMA), {})
    assert config.success and config.value is not None
    with mock.patch("kubernetes.config.load_incluster_config"):
        executor = k8s_job_executor.executor_creation_fn(
            InitExecutorContext(job, k8s_job_executor, config.value, k8s_instance)
        )
    plan = create_execution_plan(job, tags=run.tags)
    context = StepHandlerContext(
        instance=k8s_instance,
        plan_context=PlanOrchestrationContext(
            plan_data=PlanData(job, run, k8s_instance, plan, raise_on_error=True,
                               retry_mode=RetryMode.DISABLED),
            log_manager=create_context_free_log_manager(k8s_instance, run),
            executor=executor,
            output_capture=None,
        ),
        steps=plan.steps,
        execute_step_args=ExecuteStepArgs(job.get_python_origin(), run.run_id, [FLOOD_STEP]),
    )  # fmt: skip
    list(executor._step_handler.launch_step(context))
    create = executor._step_handler._api_client.batch_api.create_namespaced_job
    manifest = as_manifest(create.call_args.kwargs["body"])
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == FLOOD_CONTAINER["resources"]
    assert FLOOD_CONTAINER["env"][0] in container["env"]
    assert container["image"] == ENV["JNFT_IMAGE"]
    assert {"secretRef": {"name": "jnft-postgres"}} in container["envFrom"]
    validate(manifest)


def test_the_k8s_executor_is_chosen_by_the_environment(monkeypatch):
    from dagster_k8s import k8s_job_executor

    from jnft.orchestration.definitions import step_executor

    monkeypatch.delenv("JNFT_EXECUTOR", raising=False)
    assert step_executor() is None  # the embedded default: steps in the run's process
    monkeypatch.setenv("JNFT_EXECUTOR", "k8s")
    assert step_executor() is k8s_job_executor
    monkeypatch.setenv("JNFT_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="JNFT_EXECUTOR=celery: unset, or k8s"):
        step_executor()
