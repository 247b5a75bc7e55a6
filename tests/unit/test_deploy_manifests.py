"""deploy/: the Kubernetes manifests checked offline, against the Kubernetes API's own models
(the ``kubernetes`` package), and against the service they configure. Not exercised on a real
cluster here (docs/guide/deployment.md says what that leaves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from restricted_exec.service.app import create_app
from restricted_exec.service.config import ServiceConfig
from restricted_exec.service.keys import ApiKeys

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MODELS = {
    "Deployment": "V1Deployment",
    "Service": "V1Service",
    "HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
    "PodDisruptionBudget": "V1PodDisruptionBudget",
    "ConfigMap": "V1ConfigMap",
    "Secret": "V1Secret",
}


def manifests() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"]] = document
    return found


@pytest.mark.parametrize("kind", MODELS)
def test_each_manifest_is_its_kinds_api_object_with_no_unknown_field(kind: str) -> None:
    document = manifests()[kind]
    client = ApiClient()
    model = client.deserialize(json.dumps(document), MODELS[kind], "application/json")
    # A misspelt or misplaced field is dropped by the model: the round trip shows it.
    again = client.sanitize_for_serialization(model)
    if kind == "Secret":  # stringData is write-only in the API's model of a Secret
        again["stringData"] = document["stringData"]
    assert again == document


def test_every_kind_the_deployment_needs_is_there() -> None:
    assert set(manifests()) == set(MODELS)


def test_the_pods_run_locked_down() -> None:
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]


def test_the_config_map_and_the_secret_are_what_the_service_reads(tmp_path: Path) -> None:
    config = ServiceConfig.model_validate_json(manifests()["ConfigMap"]["data"]["service.json"])
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(manifests()["Secret"]["stringData"]["keys.json"])
    ApiKeys.load(keys_file)  # raises if it is not a keys file
    assert config.api_keys_file is not None
    mounts = {
        mount["mountPath"]
        for mount in manifests()["Deployment"]["spec"]["template"]["spec"]["containers"][0][
            "volumeMounts"
        ]
    }
    assert str(config.api_keys_file.parent) in mounts
    assert config.audit_path is not None and str(config.audit_path.parent) in mounts


def test_the_probes_are_the_services_routes() -> None:
    container = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    app = create_app(ServiceConfig(allow_anonymous=True, audit_path=None))
    routes = {getattr(route, "path", None) for route in app.routes}
    assert container["readinessProbe"]["httpGet"]["path"] in routes
    assert container["livenessProbe"]["httpGet"]["path"] in routes


def test_the_image_runs_the_service_as_a_user_that_is_not_root() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text().splitlines()
    user = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in dockerfile)
    assert 'ENTRYPOINT ["restricted-exec"]' in dockerfile
