"""The Helm chart (charts/hamp), proved without a cluster as docs/helm.md says.

`.ci/chart.sh` builds helm and `.ci/kubecheck` (strict decoding into the official k8s.io/api types) and
renders the defaults and the two value sets under charts/hamp/ci/. Here: that check passes; what the
platform depends on is in the rendered objects (probes, resources, HPA, PDB, NetworkPolicy per service;
only real settings; no secret value, only references to the Secrets docs/helm.md creates; migrations as a
pre-install/pre-upgrade hook whose environment really migrates a MariaDB); the NetworkPolicies admit the
platform's traffic and nothing else; a typo in values or an unknown field in a template fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from gateway.auth.keys import SigningKey
from gateway.settings import GatewaySettings
from shared import components
from shared.fieldcrypt import Keyring
from shared.settings import ServiceSettings
from tests.support.databases import MYSQL_URL, mysql_database
from tests.support.servers import ROOT, require

CHART = ROOT / "charts" / "hamp"
CHART_SH = ROOT / ".ci" / "chart.sh"
BIN = Path(os.environ.get("HAMP_BIN_DIR", Path.home() / ".cache" / "hamp" / "bin"))
HA = CHART / "ci" / "ha-values.yaml"
SMALL = CHART / "ci" / "small-hospital-values.yaml"
DOC = ROOT / "docs" / "helm.md"
NAMESPACE = "hamp"
# The oldest Kubernetes the chart claims (Chart.yaml), as .ci/chart.sh renders for.
KUBE_VERSION = ("--kube-version", "1.25.0")
# Settings whose values are credentials or keys: only ever from a secretKeyRef (or built on one).
SECRET_SETTINGS = {
    "service_secret",
    "audit_key",
    "field_encryption_keys",
    "field_index_key",
    "field_index_previous_key",
    "signing_key_pem",
    "redis_password",
    "log_elasticsearch_password",
    "superadmin_password",
    "database_url",
    "database_replica_urls",
    "storage_url",
}
Object = dict[str, Any]


@pytest.fixture(scope="module")
def tools() -> Path:
    """helm and kubecheck, built once into ~/.cache/hamp/bin by .ci/chart.sh."""
    require(shutil.which("go") is not None or Path("/usr/local/go/bin/go").exists(), "Go is not installed")
    subprocess.run(["bash", str(CHART_SH), "build"], cwd=ROOT, check=True, timeout=900)
    return BIN


def helm_template(tools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(tools / "helm"), "template", "hamp", str(CHART), "--namespace", NAMESPACE, *KUBE_VERSION, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def decoded(tools: Path, manifests: str) -> list[Object]:
    """The objects as kubecheck decoded them into the k8s.io/api types; fails on any invalid one."""
    done = subprocess.run(
        [str(tools / "kubecheck"), "-json"], input=manifests, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    objects: list[Object] = json.loads(done.stdout)
    return objects


def render(tools: Path, *args: str) -> list[Object]:
    done = helm_template(tools, *args)
    assert done.returncode == 0, done.stderr
    return decoded(tools, done.stdout)


def yaml_file(tools: Path, path: Path) -> Any:
    done = subprocess.run(
        [str(tools / "kubecheck"), "-yaml2json"], stdin=path.open(), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def of_kind(objects: list[Object], kind: str) -> dict[str, Object]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(o: Object) -> Object:
    if o["kind"] == "CronJob":
        spec: Object = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    template: Object = o["spec"]["template"]["spec"]
    return template


def matches(selector: Object, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression  # the only operator the chart uses
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.fixture(scope="module")
def ha(tools: Path) -> list[Object]:
    return render(tools, "-f", str(HA))


@pytest.fixture(scope="module")
def small(tools: Path) -> list[Object]:
    return render(tools, "-f", str(SMALL))


def labels_of(component: str, release: str = "hamp") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "hamp",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/component": component,
    }


def test_chart_check_passes_for_the_defaults_and_both_value_sets(tools: Path) -> None:
    done = subprocess.run(["bash", str(CHART_SH), "check"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("1 chart(s) linted, 0 chart(s) failed") == 3
    checked = re.findall(r"kubecheck: (\d+) objects checked, 0 invalid", done.stdout)
    assert len(checked) == 3 and all(int(n) > 30 for n in checked), done.stdout


def test_the_charts_services_and_ports_are_the_codes(tools: Path) -> None:
    values = yaml_file(tools, CHART / "values.yaml")
    assert set(values["components"]) == set(components.SERVICES)
    for name, entry in values["components"].items():
        assert entry["port"] == components.settings_class(name).model_fields["port"].default, name
    assert values["gateway"]["port"] == components.settings_class("gateway").model_fields["port"].default
    assert values["registry"]["port"] == components.settings_class("registry").model_fields["port"].default


def test_each_service_and_the_gateway_has_probes_resources_autoscaling_a_budget_and_a_policy(
    ha: list[Object],
) -> None:
    deployments, hpas = of_kind(ha, "Deployment"), of_kind(ha, "HorizontalPodAutoscaler")
    pdbs = of_kind(ha, "PodDisruptionBudget")
    policies = list(of_kind(ha, "NetworkPolicy").values())
    assert set(deployments) == {f"hamp-{name}" for name in (*components.SERVICES, "gateway")}
    for name in (*components.SERVICES, "gateway"):
        deployment = deployments[f"hamp-{name}"]
        spec = pod_spec(deployment)
        (container,) = spec["containers"]
        assert container["args"] == ["run", name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/health"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
        assert security["capabilities"]["drop"] == ["ALL"]
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/hamp", "/tmp"} <= mounts
        assert spec["automountServiceAccountToken"] is False
        hpa = hpas[f"hamp-{name}"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"hamp-{name}"}
        assert hpa["spec"]["minReplicas"] >= (3 if name in ("gateway", "oms") else 2)
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        assert matches(pdbs[f"hamp-{name}"]["spec"]["selector"], pods)
        assert any(matches(p["spec"]["podSelector"], pods) for p in policies), name
    (registry,) = of_kind(ha, "StatefulSet").values()
    assert registry["spec"]["replicas"] == 3
    config = of_kind(ha, "ConfigMap")["hamp"]["data"]
    peers = config["HAMP_REGISTRY_URLS"].split(",")
    assert peers == [f"http://hamp-registry-{i}.hamp-registry.hamp.svc:8761/eureka/" for i in range(3)]
    assert config["HAMP_REGISTRY_PEER_URLS"] == config["HAMP_REGISTRY_URLS"]
    # Writes to the registry need its password: the peers and every registered component hold it.
    for workload in [registry, *of_kind(ha, "Deployment").values()]:
        env = {e["name"]: e for e in pod_spec(workload)["containers"][0]["env"]}
        ref = env["HAMP_REGISTRY_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "hamp-keys", "key": "registry-password"}, workload["metadata"]["name"]
    # The example's external app is one the gateway accepts.
    apps = GatewaySettings(external_apps=json.loads(config["HAMP_GATEWAY_EXTERNAL_APPS"])).external_apps
    assert [(a.prefix, a.app) for a in apps] == [("lab", "LIS-SERVICE")]
    assert of_kind(ha, "Service")["hamp-registry"]["spec"]["clusterIP"] == "None"


def valid_setting_names() -> set[str]:
    names = set()
    for component in components.available():
        for field in components.settings_class(component).model_fields:
            names |= {f"HAMP_{field.upper()}", f"HAMP_{component.upper()}_{field.upper()}"}
    return names


def secret_field(name: str) -> str | None:
    """The setting an env name sets, when it is a secret one."""
    for field in SECRET_SETTINGS:
        if name == f"HAMP_{field.upper()}" or name.endswith(f"_{field.upper()}"):
            return field
    return None


def test_only_settings_the_platform_reads_and_no_secret_value_is_rendered(
    ha: list[Object], small: list[Object], tools: Path
) -> None:
    valid = valid_setting_names()
    values = yaml_file(tools, HA)
    allowed_secrets = {
        values["keys"]["secretName"],
        values["database"]["passwordSecret"]["name"],
        values["storage"]["credentialsSecret"]["name"],
        values["redis"]["passwordSecret"]["name"],
        values["logs"]["elasticsearch"]["credentialsSecret"]["name"],
        values["gateway"]["superadminPasswordSecret"]["name"],
    }
    for objects in (ha, small):
        assert not [o for o in objects if o["kind"] == "Secret"]
        for name in of_kind(objects, "ConfigMap")["hamp"]["data"]:
            assert name in valid, f"the ConfigMap sets {name}, which no component reads"
            assert secret_field(name) is None, f"the ConfigMap holds a secret: {name}"
        for workload in [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]:
            for container in pod_spec(workload)["containers"]:
                defined: set[str] = set()
                for env in container.get("env", []):
                    name, value = env["name"], env.get("value", "")
                    if name.startswith("HAMP_"):
                        assert name in valid, f"{workload['metadata']['name']} sets {name}, which no component reads"
                    # Kubernetes expands $(VAR) only for variables defined earlier in the list.
                    for reference in re.findall(r"\$\((\w+)\)", value):
                        assert reference in defined, f"{name} uses $({reference}) before it is defined"
                    if "valueFrom" in env:
                        ref = env["valueFrom"].get("secretKeyRef") or {}
                        if ref:
                            assert ref["name"] in allowed_secrets, ref
                    elif secret_field(name):
                        # A credential is only ever built from secretKeyRefs, never written out.
                        assert "$(" in value, f"{name} is rendered with a literal value"
                    defined.add(name)
    gateway = pod_spec(of_kind(ha, "Deployment")["hamp-gateway"])["containers"][0]["env"]
    signing = next(e for e in gateway if e["name"] == "HAMP_GATEWAY_SIGNING_KEY_PEM")
    assert signing["valueFrom"]["secretKeyRef"] == {"name": "hamp-keys", "key": "signing-key.pem"}
    for name in components.SERVICES:
        env = {e["name"] for e in pod_spec(of_kind(ha, "Deployment")[f"hamp-{name}"])["containers"][0]["env"]}
        assert "HAMP_GATEWAY_SIGNING_KEY_PEM" not in env, f"{name} holds the gateway's signing key"
        assert ("HAMP_FIELD_ENCRYPTION_KEYS" in env) is (name == "oms"), name


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook_on_every_database(ha: list[Object]) -> None:
    (job,) = of_kind(ha, "Job").values()
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    (container,) = pod_spec(job)["containers"]
    assert container["args"] == ["migrate"]
    # A hook runs before the release's ConfigMap exists on a first install: nothing may come from it.
    assert "envFrom" not in container
    env = {e["name"] for e in container["env"]}
    # Each component's main.py points MIGRATIONS at <component>/migrations (importing them all costs seconds).
    migrated = {c for c in components.available() if (ROOT / c / "migrations").is_dir()}
    assert migrated == {*components.SERVICES, "gateway"}
    assert {f"HAMP_{c.upper()}_DATABASE_URL" for c in migrated} <= env
    config = of_kind(ha, "ConfigMap")["hamp"]["data"]
    assert config["HAMP_MIGRATE_ON_START"] == "false"


class Pod:
    def __init__(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespace, self.labels = namespace, labels


def admitted(policies: list[Object], source: Pod, target: Pod, port: int) -> bool:
    """NetworkPolicy semantics for ingress: a pod selected by any policy takes only what one admits."""
    selecting = [p for p in policies if matches(p["spec"]["podSelector"], target.labels)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            if not any(p["port"] == port for p in rule.get("ports", [])):
                continue
            for peer in rule.get("from", []):
                namespace_ok = (
                    matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": source.namespace})
                    if "namespaceSelector" in peer
                    else source.namespace == NAMESPACE
                )
                pods_ok = matches(peer["podSelector"], source.labels) if "podSelector" in peer else True
                if namespace_ok and pods_ok:
                    return True
    return False


def test_network_policies_admit_the_platform_and_refuse_everyone_else(ha: list[Object]) -> None:
    policies = list(of_kind(ha, "NetworkPolicy").values())
    ports = {name: components.settings_class(name).model_fields["port"].default for name in components.ALL}
    pod = {name: Pod(NAMESPACE, labels_of(name)) for name in components.ALL}
    ingress_controller = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    stranger = Pod(NAMESPACE, {"run": "debug-shell"})  # any other pod in the namespace
    other_release = Pod(NAMESPACE, labels_of("gateway", release="hamp-test"))
    other_namespace = Pod("his", labels_of("gateway"))
    monitoring = Pod("cattle-monitoring-system", {"app": "prometheus"})
    for service in components.SERVICES:
        target = pod[service]
        assert admitted(policies, pod["gateway"], target, ports[service]), f"gateway -> {service}"
        for caller in components.SERVICES:
            assert admitted(policies, pod[caller], target, ports[service]), f"{caller} -> {service}"
        for outsider in (ingress_controller, stranger, other_release, other_namespace, pod["registry"]):
            assert not admitted(policies, outsider, target, ports[service]), f"{outsider.labels} -> {service}"
        assert admitted(policies, monitoring, target, ports[service])
    gateway = pod["gateway"]
    assert admitted(policies, ingress_controller, gateway, ports["gateway"])
    assert admitted(policies, pod["oms"], gateway, ports["gateway"])  # service tokens, keys, revocations
    for outsider in (stranger, other_release, other_namespace):
        assert not admitted(policies, outsider, gateway, ports["gateway"])
    registry = pod["registry"]
    for name in components.ALL:
        assert admitted(policies, pod[name], registry, ports["registry"]), f"{name} -> registry"
    for outsider in (ingress_controller, stranger, other_release, other_namespace):
        assert not admitted(policies, outsider, registry, ports["registry"])
    # The laboratory's Spring service (network.externalAppNamespaces) registers and is routed to, no more.
    lab = Pod("lis", {"app": "lis-service"})
    assert admitted(policies, lab, registry, ports["registry"])
    assert admitted(policies, lab, gateway, ports["gateway"])
    assert not any(admitted(policies, lab, pod[s], ports[s]) for s in components.SERVICES)


def test_a_typo_or_a_bad_value_in_values_and_an_unknown_field_in_a_template_fail(tools: Path, tmp_path: Path) -> None:
    for args, said in [
        (["--set", "gateway.replcas=3"], "additional properties 'replcas' not allowed"),
        (["--set", "components.xms.port=8110"], "xms"),
        (["--set", "serviceDefaults.resources.limits.memory=lots"], "memory"),
        (["--set", "settings.service_secret=plain-text"], "service_secret"),
        (["--set", "network.trustedNetworks[0]=the-lan"], "the-lan"),
        (["--set-json", "redis.sentinels=[]", "--set", "gateway.replicas=3"], "redis.sentinels"),
    ]:
        done = helm_template(tools, *args)
        assert done.returncode != 0 and said in done.stderr, (args, done.stderr)
    # A template that renders a field Kubernetes does not have: helm renders it, kubecheck refuses it.
    broken = tmp_path / "hamp"
    shutil.copytree(CHART, broken)
    workload = broken / "templates" / "_helpers.tpl"
    workload.write_text(workload.read_text().replace("revisionHistoryLimit: 5", "revisionHistoryLimt: 5"))
    rendered = subprocess.run(
        [str(tools / "helm"), "template", "hamp", str(broken), *KUBE_VERSION],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    checked = subprocess.run([str(tools / "kubecheck")], input=rendered.stdout, capture_output=True, text=True)
    assert checked.returncode == 1
    assert "INVALID apps/v1/Deployment hamp-oms" in checked.stdout
    assert 'unknown field "revisionHistoryLimt"' in checked.stdout


def test_rancher_questions_set_values_that_exist_with_their_type_and_default(tools: Path) -> None:
    values = yaml_file(tools, CHART / "values.yaml")
    questions = yaml_file(tools, CHART / "questions.yaml")["questions"]
    types = {"string": str, "hostname": str, "secret": str, "storageclass": str, "int": int, "boolean": bool}
    asked = [*questions, *[s for q in questions for s in q.get("subquestions", [])]]
    assert len(asked) > 20
    for question in asked:
        node: Any = values
        for part in question["variable"].split("."):
            assert isinstance(node, dict) and part in node, f"questions.yaml asks for {question['variable']}"
            node = node[part]
        assert isinstance(node, types[question["type"]]), question["variable"]
        assert question["default"] == node, f"{question['variable']}: default {question['default']!r} != {node!r}"
        assert re.search(r"[\u4e00-\u9fff]", question["label"]), question["label"]
    assert (CHART / "app-readme.md").read_text().startswith("# HAMP 医院档案管理平台")


def doc_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_docs_secrets_are_what_the_chart_reads_and_the_keys_load(
    ha: list[Object], tools: Path, tmp_path: Path
) -> None:
    require(shutil.which("kubectl") is not None, "kubectl is not installed (Debian: kubernetes-client)")
    require(shutil.which("openssl") is not None, "openssl is not installed")
    for line in doc_block("sh", "openssl genpkey").strip().splitlines():
        subprocess.run(line, shell=True, cwd=tmp_path, check=True, timeout=60, capture_output=True)
    # The TLS pair is the hospital's own; a throw-away one stands in.
    subprocess.run(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout hamp.key -out hamp.crt -days 1 -subj /CN=hamp.example",
        shell=True,
        cwd=tmp_path,
        check=True,
        timeout=60,
        capture_output=True,
    )
    manifests = []
    for line in doc_block("sh", "kubectl -n hamp create secret").strip().splitlines():
        args = shlex.split(line)
        assert args[:5] == ["kubectl", "-n", "hamp", "create", "secret"], line
        done = subprocess.run(
            [*args, "--dry-run=client", "-o", "yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KUBECONFIG": str(tmp_path / "no-cluster")},
        )
        assert done.returncode == 0, done.stderr
        manifests.append(done.stdout)
    secrets = of_kind(decoded(tools, "---\n".join(manifests)), "Secret")
    # Every secretKeyRef of the HA value set (which uses every optional Secret) finds its Secret and key.
    for workload in [o for o in ha if o["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]:
        for env in pod_spec(workload)["containers"][0]["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                assert ref["key"] in secrets[ref["name"]]["data"], f"docs/helm.md makes no {ref}"
    assert set(secrets["hamp-tls"]["data"]) == {"tls.crt", "tls.key"}
    # The key files load as the platform reads them.
    keys = {name: (tmp_path / name).read_text() for name in secrets["hamp-keys"]["data"]}
    settings = ServiceSettings(
        service_secret=keys["service-secret"],
        audit_key=keys["audit-key"],
        field_encryption_keys=json.loads(keys["field-encryption-keys"]),
        field_index_key=keys["field-index-key"],
    )
    ring, id_card = Keyring.from_settings(settings), "11010519491231002X"
    assert ring.decrypt(ring.encrypt(id_card, "patients.id_card"), "patients.id_card") == id_card
    assert len(SigningKey(keys["signing-key.pem"]).kid) == 16
    assert not any(value.endswith("\n") for name, value in keys.items() if name != "signing-key.pem")


@dataclass
class DocDatabases:
    user: str
    password: str
    prefix: str
    names: list[str]


@pytest.fixture
def doc_databases() -> Iterator[DocDatabases]:
    """docs/helm.md's SQL run on the MariaDB under test, under a user and database prefix of this test's own
    (the server's administrator may well be called hamp too); all dropped afterwards."""
    require(bool(MYSQL_URL), "HAMP_TEST_MYSQL_URL is not set (no MariaDB to test against)")
    mark = uuid.uuid4().hex[:6]
    made = DocDatabases(user=f"hampdoc{mark}", password=uuid.uuid4().hex, prefix=f"hampdoc{mark}_", names=[])
    sql = (
        doc_block("sql", "CREATE USER")
        .replace("'hamp'@", f"'{made.user}'@")
        .replace("hamp\\_", f"hampdoc{mark}\\_")
        .replace(" hamp_", f" {made.prefix}")
        .replace("CHANGE-ME-db-password", made.password)
    )
    statements = [s.strip() for s in sql.split(";") if s.strip()]
    made.names = re.findall(r"CREATE DATABASE IF NOT EXISTS (\w+)", sql)
    admin = create_engine(mysql_database("x")[1])
    names = made.names
    try:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            for statement in statements:
                conn.exec_driver_sql(statement.replace("%", "%%"))  # the driver formats with pyformat
        yield made
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{made.user}'@'%%'")
        admin.dispose()


def test_the_docs_databases_are_migrated_by_the_migration_jobs_own_environment(
    tools: Path, doc_databases: DocDatabases
) -> None:
    made = doc_databases
    password = made.password
    server = make_url(MYSQL_URL)
    values = [
        f"database.host={server.host}",
        f"database.port={server.port}",
        f"database.user={made.user}",
        f"database.databasePrefix={made.prefix}",
    ]
    (job,) = of_kind(render(tools, "-f", str(SMALL), *[a for v in values for a in ("--set", v)]), "Job").values()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    for item in pod_spec(job)["containers"][0]["env"]:
        if "value" in item:
            env[item["name"]] = item["value"].replace("$(DATABASE_PASSWORD)", password)
    # The Job's Secrets, as the kubelet would put them in; the replica is the primary here.
    env["HAMP_AUDIT_KEY"] = uuid.uuid4().hex
    env["HAMP_FIELD_ENCRYPTION_KEYS"] = json.dumps({"2026a": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
    env["HAMP_FIELD_INDEX_KEY"] = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
    for name, value in list(env.items()):
        if name.endswith("_DATABASE_REPLICA_URLS"):
            env[name] = value.replace("mysql-replica.his.svc", str(server.host))
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", *pod_spec(job)["containers"][0]["args"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(made.names) == len(components.SERVICES) + 1
    user = create_engine(server.set(drivername="mysql+pymysql", username=made.user, password=password, database=None))
    try:
        for name in made.names:
            component = name.removeprefix(made.prefix)
            with user.connect() as conn:
                tables = inspect(conn).get_table_names(schema=name)
            assert f"alembic_version_{component}" in tables and "audit_log" in tables, f"{name} was not migrated"
    finally:
        user.dispose()


def test_the_docs_helm_commands_render(tools: Path) -> None:
    commands = [line for line in DOC.read_text().splitlines() if line.startswith("helm ")]
    assert any(c.startswith("helm install ") for c in commands) and any(c.startswith("helm upgrade ") for c in commands)
    for command in commands:
        args = shlex.split(command)
        if args[1] == "lint":
            done = subprocess.run([str(tools / "helm"), *args[1:]], cwd=ROOT, capture_output=True, text=True)
        elif args[1] in ("install", "upgrade"):
            # No cluster here: the same chart, release, namespace and values through `helm template`.
            done = subprocess.run(
                [str(tools / "helm"), "template", *args[2:], *KUBE_VERSION],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
        else:
            continue
        assert done.returncode == 0, f"{command}: {done.stderr}"
