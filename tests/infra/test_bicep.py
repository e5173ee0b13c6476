"""infra/ against the code: every Bicep file parses, and what it deploys is what the code and Settings expect.

pycep turns Bicep into JSON in which names (parameters, variables, resource symbols) are `BicepElement`s and
literals plain `str`. `evaluate` folds that JSON into values for the small subset infra/ uses (names,
literals, '${name}' interpolation, concat, conditionals, for-loops, loadJsonContent) and leaves anything else
as its Bicep text, an `Expr` such as `identity.outputs.principalId`. Each file is evaluated with the values its
parameters get in a deployment: main.bicep's from a parameter file or its defaults, each module's from
main.bicep's module call, and blob-drop-subscription.bicep's from main.bicep's outputs as the azd postdeploy
hook passes them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lark.exceptions import UnexpectedInput, VisitError
from pycep import BicepParser
from pycep.models import BicepElement

from shared.adapters.cosmos_jobs import PARTITION_KEY_PATH, CosmosJobStore
from shared.adapters.cosmos_sessions import CosmosSessionStore
from shared.config import Settings
from shared.domain.catalog import load_catalog
from shared.domain.messages import DEAD_LETTER_SUBQUEUE, JOB_RESULTS_QUEUE, SIMULATOR_QUEUE
from shared.domain.query import Continuation, SortKey
from tests.query_shapes import sdk_shapes

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = "main.bicep"
BLOB_DROP = "modules/blob-drop-subscription.bicep"
HOOKS = (INFRA / "hooks" / "postdeploy.sh", INFRA / "hooks" / "postdeploy.ps1")

# App settings that are not Settings aliases: the Functions host reads them, not shared/config.py.
HOST_SETTINGS = {
    # Host storage by identity; the host uses queues (blob-trigger poison queue) and tables (diagnostic events).
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    # The job data's account by identity, as the blob trigger's connection (its blob endpoint is a Settings alias).
    "JobsStorage__credential",
    "JobsStorage__clientId",
    # The Service Bus triggers' connection by identity (its namespace is a Settings alias).
    "ServiceBusConnection__credential",
    "ServiceBusConnection__clientId",
    # Where and how the host sends telemetry: Entra-authenticated, local auth disabled on the component.
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption rejects these: the runtime is functionAppConfig.runtime.
FLEX_FORBIDDEN_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"}
ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ---------------------------------------------------------------------------------------------------------
# Parsing and evaluating Bicep


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parsed(relative: str) -> dict[str, Any]:
    return dict(BicepParser().parse(file_path=INFRA / relative))


class Expr(str):
    """A Bicep expression this evaluator leaves as source text: a resource property, a module output, a call."""


@dataclass(frozen=True)
class Scope:
    """One Bicep file and the values of the names bound in it (parameters, loop variables)."""

    file: str
    bound: Mapping[str, Any]

    @property
    def tree(self) -> dict[str, Any]:
        return parsed(self.file)

    def with_bound(self, name: str, value: Any) -> Scope:
        return Scope(self.file, {**self.bound, name: value})

    def lookup(self, name: str) -> Any:
        if name in self.bound:
            return self.bound[name]
        if name in self.tree.get("variables", {}):
            return evaluate(self.tree["variables"][name]["value"], self)
        default = self.tree.get("parameters", {}).get(name, {}).get("default")
        if default is not None:
            return evaluate(default, self)
        return Expr(name)  # a resource or module symbol, or a parameter without a value


def evaluate(node: Any, scope: Scope) -> Any:
    if isinstance(node, BicepElement):
        return scope.lookup(str(node))
    if isinstance(node, str):
        return _interpolate(node, scope)
    if isinstance(node, list):
        return [evaluate(item, scope) for item in node]
    if isinstance(node, dict):
        if "loop_type" in node:
            return [evaluate(node["config"], item_scope) for item_scope in _loop(node, scope)]
        if "function" in node:
            return _call(node["function"], scope)
        if "operator" in node:
            return _operate(node["operator"], scope)
        return {key.strip("'"): evaluate(value, scope) for key, value in node.items()}
    return node  # bool, int, None


def _loop(node: Mapping[str, Any], scope: Scope) -> Iterator[Scope]:
    detail = node["loop_type"]["detail"]
    items = evaluate(detail["array_name"], scope) if detail["array_name"] is not None else None
    if not isinstance(items, list):
        yield scope  # not a list this evaluator can expand: one instance, its loop variable unbound
        return
    for item in items:
        yield scope.with_bound(detail["item_name"], item)


def _interpolate(text: str, scope: Scope) -> str:
    def resolve(match: re.Match[str]) -> str:
        head, *path = match[1].split(".")
        value = scope.lookup(head)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return str(value) if isinstance(value, str | int) and not isinstance(value, Expr) else match[0]

    return re.sub(r"\$\{([\w.]+)\}", resolve, text)


def _call(function: Mapping[str, Any], scope: Scope) -> Any:
    name, args = function["type"], [a for a in (function.get("parameters") or {}).values() if a is not None]
    values = [evaluate(arg, scope) for arg in args]
    if name == "concat" and all(isinstance(v, list) for v in values):
        return [item for value in values for item in value]
    if name == "load_json_content":
        return json.loads((INFRA / Path(scope.file).parent / values[0]).read_text())
    return Expr(f"{name}({', '.join(_show(v) for v in values)})")


def _operate(operator: Mapping[str, Any], scope: Scope) -> Any:
    kind, operands = operator["type"], operator["operands"]
    if kind == "property_accessor":
        value = evaluate(operands["operand_1"], scope)
        for key in _path(operands["operand_2"]):
            value = value[key] if isinstance(value, dict) and key in value else Expr(f"{_show(value)}.{key}")
        return value
    if kind == "function_accessor":
        return Expr(f"{_show(evaluate(operands['operand_1'], scope))}.{operands['func_name']}()")
    if kind == "conditional":
        condition = evaluate(operands["condition"], scope)
        if isinstance(condition, bool):
            return evaluate(operands["true_value" if condition else "false_value"], scope)
    if kind == "equals":
        left, right = (evaluate(operands[k], scope) for k in ("operand_1", "operand_2"))
        if not isinstance(left, Expr) and not isinstance(right, Expr):
            return left == right
    return Expr(f"{kind}({', '.join(_show(evaluate(v, scope)) for v in operands.values())})")


def _path(node: Any) -> list[str]:
    """`b.c` of `a.b.c`: pycep nests property accessors to the right."""
    if isinstance(node, dict) and node.get("operator", {}).get("type") == "property_accessor":
        operands = node["operator"]["operands"]
        return [*_path(operands["operand_1"]), *_path(operands["operand_2"])]
    return [str(node)]


def _show(value: Any) -> str:
    return value if isinstance(value, Expr) else json.dumps(value)


# ---------------------------------------------------------------------------------------------------------
# The deployment: which values each file's parameters get


@cache
def deployment(parameter_file: str | None = None) -> dict[str, Scope]:
    """Every file's scope, for main.bicep's defaults or a parameter file's values."""
    values = parameter_values(parameter_file) if parameter_file else {}
    main = Scope(MAIN, values)
    scopes = {MAIN: main}
    for module in parsed(MAIN)["modules"].values():
        scopes[module["detail"]["path"]] = Scope(module["detail"]["path"], evaluate(module["config"]["params"], main))
    outputs = {name: evaluate(output["value"], main) for name, output in parsed(MAIN)["outputs"].items()}
    scopes[BLOB_DROP] = Scope(BLOB_DROP, {param: outputs[var] for param, var in hook_arguments(HOOKS[0]).items()})
    return scopes


def parameter_values(parameter_file: str) -> dict[str, Any]:
    return {name: p["value"] for name, p in json.loads((INFRA / parameter_file).read_text())["parameters"].items()}


def hook_arguments(hook: Path) -> dict[str, str]:
    """The blob-drop module's parameters as the postdeploy hook passes them: parameter -> azd variable."""
    return dict(re.findall(r'(\w+)="\$(?:env:)?(\w+)"', hook.read_text()))


@dataclass(frozen=True)
class Resource:
    """One deployed instance of a resource declaration (one per item of a for-loop)."""

    symbol: str
    config: Mapping[str, Any]
    scope: Scope

    def get(self, *path: str) -> Any:
        node: Any = self.config
        for key in path:
            if isinstance(node, BicepElement):  # a variable holding the rest, such as shared account properties
                node = evaluate(node, self.scope)
            node = node[key]
        return evaluate(node, self.scope)


def instances(resource_type: str, parameter_file: str | None = None) -> list[Resource]:
    """Every instance of a resource type that the deployment creates (not `existing` references)."""
    found = []
    for file, scope in deployment(parameter_file).items():
        for symbol, resource in parsed(file).get("resources", {}).items():
            if resource["type"] != resource_type or resource["existing"]:
                continue
            config = resource["config"]
            if "loop_type" in config:
                found += [Resource(symbol, config["config"], item) for item in _loop(config, scope)]
            else:
                found.append(Resource(symbol, config, scope))
    return found


def one(resource_type: str, parameter_file: str | None = None) -> Resource:
    found = instances(resource_type, parameter_file)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def module_output(expr: Any) -> tuple[str, Any]:
    """`monitoring.outputs.x` in main.bicep -> (the module's file, the output's value in that module)."""
    match = re.fullmatch(r"(\w+)\.outputs\.(\w+)", str(expr))
    assert match, f"{expr} is not a module output"
    file = parsed(MAIN)["modules"][match[1]]["detail"]["path"]
    return file, evaluate(parsed(file)["outputs"][match[2]]["value"], deployment()[file])


def app_settings(parameter_file: str | None = None) -> dict[str, Any]:
    """The function app's settings: the object its siteConfig.appSettings loop turns into name/value pairs."""
    site = one("Microsoft.Web/sites", parameter_file)
    loop = site.config["properties"]["siteConfig"]["appSettings"]["loop_type"]["detail"]["array_name"]
    assert loop["function"]["type"] == "items", "siteConfig.appSettings should be a loop over items(<object>)"
    settings = evaluate(loop["function"]["parameters"]["arg_1"], site.scope)
    assert isinstance(settings, dict)
    return settings


# ---------------------------------------------------------------------------------------------------------
# What the code names


@cache
def triggers() -> dict[str, dict[str, Any]]:
    """function_app's trigger bindings by function name, from a private copy of the module: azure-functions'
    get_functions() refuses a second call on one app, and other tests make the first."""
    spec = importlib.util.spec_from_file_location("function_app_for_infra_tests", REPO / "function_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: dict[str, dict[str, Any]] = {}
    for function in module.app.get_functions():
        bindings = [b.get_dict_repr() for b in function.get_bindings()]
        found[function.get_function_name() or ""] = next(b for b in bindings if str(b["type"]).endswith("Trigger"))
    return found


def code_queues() -> set[str]:
    consumed = {  # a dead-letter subqueue is part of its queue
        t["queueName"].removesuffix(DEAD_LETTER_SUBQUEUE)
        for t in triggers().values()
        if t["type"] == "serviceBusTrigger"
    }
    return consumed | {p.queue for p in load_catalog().providers} | {SIMULATOR_QUEUE, JOB_RESULTS_QUEUE}


def bicep_queues() -> dict[str, Resource]:
    return {q.get("name"): q for q in instances("Microsoft.ServiceBus/namespaces/queues")}


def settings_by_scope(scope: str) -> set[str]:
    return {
        str(f.alias)
        for f in Settings.model_fields.values()
        if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("scope") == scope
    }


def seconds(duration: str) -> int:
    """ISO 8601 durations as Azure uses them: P14D, PT1M, PT10M, PT30S."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", duration)
    assert match, f"not an ISO 8601 duration: {duration}"
    days, hours, minutes, secs = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + secs


# ---------------------------------------------------------------------------------------------------------
# 1. Syntax gate (checkov reports a Bicep syntax error and still exits 0)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_parses(path: Path) -> None:
    try:
        BicepParser().parse(file_path=path)
    except UnexpectedInput as error:
        pytest.fail(f"{path.relative_to(REPO)}:{error.line}:{error.column}: Bicep syntax error\n{error}")
    except (VisitError, ValueError) as error:  # pycep's transformer, or its check for unbalanced '''
        pytest.fail(f"{path.relative_to(REPO)}: {error}")


def test_the_syntax_gate_catches_a_missing_brace() -> None:
    broken = (INFRA / MAIN).read_text().replace("\n}\n", "\n", 1)
    with pytest.raises(UnexpectedInput):
        BicepParser().parse(text=broken)


def test_main_deploys_every_module_and_the_hook_the_blob_drop_module() -> None:
    modules = {m["detail"]["path"] for m in parsed(MAIN)["modules"].values()}
    on_disk = {p.relative_to(INFRA).as_posix() for p in (INFRA / "modules").glob("*.bicep")}
    assert on_disk == modules | {BLOB_DROP}
    for hook in HOOKS:
        assert f"--template-file infra/{BLOB_DROP}" in hook.read_text(), hook.name
    assert hook_arguments(HOOKS[0]) == hook_arguments(HOOKS[1]), "the posix and Windows hooks pass the same values"
    azure_yaml = (REPO / "azure.yaml").read_text()
    assert "./infra/hooks/postdeploy.sh" in azure_yaml
    assert "./infra/hooks/postdeploy.ps1" in azure_yaml


# ---------------------------------------------------------------------------------------------------------
# Parameter files (JSON: pycep cannot parse .bicepparam) and checkov's waivers


@pytest.mark.parametrize("name", ["main.parameters.json", "main.parameters.dev.json", "main.parameters.prod.json"])
def test_parameter_files_set_only_parameters_of_main(name: str) -> None:
    params = parsed(MAIN)["parameters"]
    values = parameter_values(name)
    assert values.keys() <= params.keys(), f"{name} sets unknown parameters: {values.keys() - params.keys()}"
    required = {p for p, spec in params.items() if spec["default"] is None}
    assert required <= values.keys(), f"{name} misses required parameters: {required - values.keys()}"


@pytest.mark.parametrize("name", ["main.parameters.dev.json", "main.parameters.prod.json"])
def test_profile_values_fit_their_parameters(name: str) -> None:
    params = parsed(MAIN)["parameters"]
    python_type = {"int": int, "bool": bool, "string": str}
    for param, value in parameter_values(name).items():
        spec = params[param]
        assert type(value) is python_type[spec["type"]], f"{name}: {param} should be {spec['type']}"
        for decorator in spec["decorators"]:
            kind, argument = decorator["type"], decorator.get("argument")
            assert kind != "allowed" or value in argument, f"{name}: {param}={value} not in {argument}"
            assert kind != "min_value" or value >= argument, f"{name}: {param}={value} < {argument}"
            assert kind != "max_value" or value <= argument, f"{name}: {param}={value} > {argument}"


def test_azd_defaults_are_the_dev_profile() -> None:
    azd = parameter_values("main.parameters.json")
    assert azd.pop("environmentName") == "${AZURE_ENV_NAME}"
    assert azd.pop("location") == "${AZURE_LOCATION}"
    assert azd.pop("principalId") == "${AZURE_PRINCIPAL_ID}", "azd sets the deploying user"
    dev = parameter_values("main.parameters.dev.json")
    for param, value in azd.items():
        match = re.fullmatch(r"\$\{\w+=(.*)\}", value)
        assert match, f"main.parameters.json: {param} should be ${{VARIABLE=default}}"
        assert match[1] == json.dumps(dev[param]).strip('"'), f"{param}: azd default {match[1]} != dev {dev[param]}"


def test_prod_differs_from_dev() -> None:
    dev, prod = parameter_values("main.parameters.dev.json"), parameter_values("main.parameters.prod.json")
    differing = {p for p in dev if dev[p] != prod[p]} - {"environmentName"}
    assert {"maximumInstanceCount", "logRetentionInDays", "zoneRedundant", "cosmosBackup"} <= differing


def test_prod_parameters_turn_on_what_checkov_waives() -> None:
    """.checkov.yaml waives CKV_AZURE_225, 110 and 42 because checkov reads module defaults (dev)."""
    prod = "main.parameters.prod.json"
    assert one("Microsoft.Web/serverfarms", prod).get("properties", "zoneRedundant") is True
    assert one("Microsoft.KeyVault/vaults", prod).get("properties", "enablePurgeProtection") is True
    assert one("Microsoft.KeyVault/vaults", prod).get("properties", "enableSoftDelete") is True
    assert {a.get("sku", "name") for a in instances("Microsoft.Storage/storageAccounts", prod)} == {"Standard_ZRS"}
    cosmos = one("Microsoft.DocumentDB/databaseAccounts", prod)
    assert cosmos.get("properties", "locations")[0]["isZoneRedundant"] is True
    assert cosmos.get("properties", "backupPolicy")["type"] == "Continuous"


def test_every_checkov_waiver_gives_its_reason() -> None:
    lines = (INFRA / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    waivers = [line for line in lines[start + 1 :] if line.strip().startswith("- ")]
    assert waivers
    for line in waivers:
        check, _, reason = line.strip().removeprefix("- ").partition("#")
        assert re.fullmatch(r"CKV2?_AZURE_\d+", check.strip()), line
        assert len(reason.split()) >= 4, f"waiver without a reason: {line.strip()}"


# ---------------------------------------------------------------------------------------------------------
# 2. Consistency with the code and the settings


def test_every_queue_the_code_names_exists() -> None:
    missing = code_queues() - bicep_queues().keys()
    assert not missing, f"queues the code uses but infra/ does not create: {sorted(missing)} (providerIds?)"


def test_no_queue_in_bicep_is_unused() -> None:
    unused = bicep_queues().keys() - code_queues()
    assert not unused, f"queues in infra/ that no code sends to or consumes: {sorted(unused)}"


def test_queues_deduplicate_dead_letter_and_bound_delivery() -> None:
    for name, queue in bicep_queues().items():
        properties = queue.get("properties")
        assert properties["requiresDuplicateDetection"] is True, name
        assert seconds(properties["duplicateDetectionHistoryTimeWindow"]) > 0, name
        assert properties["deadLetteringOnMessageExpiration"] is True, name
        assert properties["maxDeliveryCount"] >= 1, name


def test_queues_behave_like_the_local_embedded_queue() -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    for name, queue in bicep_queues().items():
        properties = queue.get("properties")
        assert seconds(properties["lockDuration"]) == defaults["queue_lock_seconds"], name
        assert properties["maxDeliveryCount"] == defaults["queue_max_delivery_count"], name
        window = seconds(properties["duplicateDetectionHistoryTimeWindow"])
        assert window == defaults["queue_duplicate_window_seconds"], name


def test_service_bus_is_standard_and_entra_only() -> None:
    namespace = one("Microsoft.ServiceBus/namespaces")
    assert namespace.get("sku", "name") == "Standard"
    assert namespace.get("properties", "disableLocalAuth") is True
    assert not instances("Microsoft.ServiceBus/namespaces/AuthorizationRules")
    assert not instances("Microsoft.ServiceBus/namespaces/queues/authorizationRules")


def test_the_programs_container_exists() -> None:
    containers = {c.get("name") for c in instances("Microsoft.Storage/storageAccounts/blobServices/containers")}
    assert app_settings()["PROGRAMS_CONTAINER"] in containers
    blob = triggers()["intake_program"]
    assert blob["path"].startswith("%PROGRAMS_CONTAINER%/")


def storage_account_of(setting: str) -> Resource:
    """The storage account whose blob endpoint an app setting holds."""
    file, endpoint = module_output(app_settings()[setting])
    match = re.fullmatch(r"(\w+)\.properties\.primaryEndpoints\.blob", str(endpoint))
    assert match, f"{setting} is {endpoint}, not a storage account's blob endpoint"
    return next(
        a for a in instances("Microsoft.Storage/storageAccounts") if (a.scope.file, a.symbol) == (file, match[1])
    )


def job_storage() -> Resource:
    return storage_account_of("JobsStorage__blobServiceUri")


def containers_of(account: Resource) -> set[str]:
    """The containers declared under an account (through its blobServices resource)."""
    services = {
        s.symbol
        for s in instances("Microsoft.Storage/storageAccounts/blobServices")
        if s.scope.file == account.scope.file and str(s.config["parent"]) == account.symbol
    }
    return {
        c.get("name")
        for c in instances("Microsoft.Storage/storageAccounts/blobServices/containers")
        if c.scope.file == account.scope.file and str(c.config["parent"]) in services
    }


def test_job_data_has_a_storage_account_apart_from_the_host() -> None:
    """No SAS the app signs can reach the host's account: its deployment package and keys live only there."""
    host, jobs = storage_account_of("AzureWebJobsStorage__blobServiceUri"), job_storage()
    assert host.symbol != jobs.symbol
    settings = app_settings()
    assert settings["PROGRAMS_CONTAINER"] in containers_of(jobs)
    assert settings["PROGRAMS_CONTAINER"] not in containers_of(host)
    site = one("Microsoft.Web/sites")
    package = evaluate(site.config["properties"]["functionAppConfig"]["deployment"]["storage"], site.scope)["value"]
    assert str(package).startswith(f"${{{settings['AzureWebJobsStorage__blobServiceUri']}}}"), package
    assert triggers()["intake_program"]["connection"] == "JobsStorage"
    roles = {
        GUID.findall(a.get("properties", "roleDefinitionId"))[0]
        for a in instances("Microsoft.Authorization/roleAssignments")
        if str(a.config["scope"]) == "jobStorage"
    }
    assert {ROLES[r] for r in roles} == {"Storage Blob Data Contributor"}, "no Owner on the account SAS URLs reach"


def test_cosmos_containers_match_the_settings_and_partition_by_id() -> None:
    settings = app_settings()
    database = one("Microsoft.DocumentDB/databaseAccounts/sqlDatabases")
    assert database.get("name") == settings["COSMOS_DATABASE"]
    containers = {c.get("name"): c for c in instances("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")}
    container_settings = {alias for alias in settings if re.fullmatch(r"COSMOS_\w*CONTAINER", alias)}
    assert {settings[alias] for alias in container_settings} == containers.keys()
    for name, container in containers.items():
        assert container.get("properties", "resource", "partitionKey", "paths") == [PARTITION_KEY_PATH], name


class RecordingContainer:
    """A Cosmos DB container that answers every query with nothing and keeps its SQL."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def query_items(self, query: str, **_: object) -> list[object]:
        self.queries.append(query)
        return []


def sdk_list_queries() -> Iterator[tuple[str, str]]:
    """(shape, SQL) of each list the SDK sends, first page and a continued one, as the Cosmos DB stores write them."""
    after = Continuation(100, SortKey("x", datetime(2026, 1, 1, tzinfo=UTC), "job-1"))
    for name, shape in sdk_shapes(date(2026, 1, 1), date(2026, 2, 1), "s1").items():
        for query in (shape.query(), replace(shape.query(), after=after)):
            jobs, sessions = RecordingContainer(), RecordingContainer()
            CosmosJobStore(jobs, "ws").query(query)  # type: ignore[arg-type]  # the SDK's ContainerProxy, recorded
            if shape.top_level:
                CosmosSessionStore(sessions, "ws").query(query)  # type: ignore[arg-type]
            yield from ((name, sql) for sql in jobs.queries + sessions.queries)


def test_cosmos_indexes_serve_every_list_the_sdk_sends() -> None:
    """Each list's ORDER BY is a composite index of the deployed policy (so the filter and the order are read
    from it, as far as TOP), and every path a list filters or orders on is indexed."""
    for container in instances("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"):
        policy = container.get("properties", "resource", "indexingPolicy")
        composites = [[(path["path"], path["order"]) for path in index] for index in policy["compositeIndexes"]]
        included = {path["path"] for path in policy["includedPaths"]}
        assert policy["excludedPaths"] == [{"path": "/*"}], "opt-in: only what the stores query is indexed"
        for name, sql in sdk_list_queries():
            terms = [term.rsplit(" ", 1) for term in sql.split(" ORDER BY ", 1)[1].split(", ")]
            wanted = [("/" + path.removeprefix("c.").replace(".", "/"), order) for path, order in terms]
            asc = [(path, "ascending") for path, _ in wanted]
            assert len(wanted) == 1 or asc in composites, (name, sql)  # each index serves both directions
            assert len({order for _, order in wanted}) == 1, (name, sql)
            paths = set(re.findall(r"\bc((?:\.\w+)+)", sql)) - {".id"}
            assert {path.replace(".", "/") + "/?" for path in paths} <= included, (name, sql)


def test_cosmos_is_serverless_and_entra_only() -> None:
    account = one("Microsoft.DocumentDB/databaseAccounts")
    assert {"name": "EnableServerless"} in account.get("properties", "capabilities")
    assert account.get("properties", "disableLocalAuth") is True


def test_binding_settings_and_azure_settings_are_set() -> None:
    settings = app_settings().keys()
    in_bindings = {
        str(value).split("%")[1] for t in triggers().values() for value in t.values() if str(value).count("%") >= 2
    }
    assert in_bindings, "expected %SETTING% expressions in function_app's bindings"
    assert not in_bindings - settings, f"binding settings missing from infra/: {in_bindings - settings}"
    azure = settings_by_scope("azure")
    assert not azure - settings, f"scope=azure settings missing from infra/: {azure - settings}"


def test_no_local_only_setting_is_deployed() -> None:
    deployed = settings_by_scope("local") & app_settings().keys()
    assert not deployed, f"scope=local settings (local host only) set in infra/: {deployed}"


def test_every_deployed_setting_is_known() -> None:
    aliases = {str(f.alias) for f in Settings.model_fields.values()}
    unknown = app_settings().keys() - aliases - HOST_SETTINGS
    assert not unknown, f"app settings that are neither Settings aliases nor host settings: {unknown}"
    assert not app_settings().keys() & FLEX_FORBIDDEN_SETTINGS


def test_binding_connections_are_identity_based() -> None:
    settings = app_settings()
    client_id = settings["AZURE_CLIENT_ID"]
    assert module_output(client_id)[1] == "identity.properties.clientId"
    endpoint_suffix = {"blobTrigger": "blobServiceUri", "serviceBusTrigger": "fullyQualifiedNamespace"}
    connections = {(t["type"], t["connection"]) for t in triggers().values() if "connection" in t}
    assert connections, "expected bindings with connections"
    for kind, connection in connections | {("blobTrigger", "AzureWebJobsStorage")}:
        assert f"{connection}__{endpoint_suffix[kind]}" in settings, connection
        assert settings[f"{connection}__credential"] == "managedidentity", connection
        assert settings[f"{connection}__clientId"] == client_id, connection
        assert connection not in settings, f"{connection} would be a connection string"
    for service in ("queueServiceUri", "tableServiceUri"):
        assert f"AzureWebJobsStorage__{service}" in settings
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == f"ClientId=${{{client_id}}};Authorization=AAD"


def test_api_keys_come_from_key_vault_through_the_identity() -> None:
    reference = app_settings()["QUANTUM_API_KEYS"]
    match = re.fullmatch(r"@Microsoft\.KeyVault\(SecretUri=\$\{(\w+\.outputs\.\w+)\}secrets/([\w-]+)\)", reference)
    assert match, f"QUANTUM_API_KEYS should be a Key Vault reference, is {reference}"
    assert module_output(match[1]) == ("modules/keyvault.bicep", "vault.properties.vaultUri")
    vault = one("Microsoft.KeyVault/vaults")
    assert vault.get("properties", "enableRbacAuthorization") is True
    assert "accessPolicies" not in vault.config["properties"]
    site = one("Microsoft.Web/sites")
    assert site.get("properties", "keyVaultReferenceIdentity") == site.scope.bound["identityId"]
    assert not instances("Microsoft.KeyVault/vaults/secrets"), "the secret's value is set out of band"


def test_event_grid_topic_is_the_events_endpoint() -> None:
    topic = one("Microsoft.EventGrid/topics")
    assert topic.get("properties", "disableLocalAuth") is True
    assert topic.get("properties", "inputSchema") == "CloudEventSchemaV1_0"
    file, endpoint = module_output(app_settings()["EVENTGRID_TOPIC_ENDPOINT"])
    assert (file, endpoint) == (topic.scope.file, f"{topic.symbol}.properties.endpoint")


def test_blob_drops_reach_intake_program_through_event_grid() -> None:
    blob = triggers()["intake_program"]
    assert blob["type"] == "blobTrigger"
    assert blob["source"] == "EventGrid", "Flex Consumption only runs blob triggers with the EventGrid source"
    topic = one("Microsoft.EventGrid/systemTopics")
    assert topic.get("properties", "topicType") == "Microsoft.Storage.StorageAccounts"
    storage = job_storage()
    assert (topic.scope.file, topic.get("properties", "source")) == (storage.scope.file, f"{storage.symbol}.id")

    subscription = one("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert subscription.scope.file == BLOB_DROP
    assert subscription.get("properties", "filter", "includedEventTypes") == ["Microsoft.Storage.BlobCreated"]
    container = app_settings()["PROGRAMS_CONTAINER"]
    prefix = f"/blobServices/default/containers/{container}/blobs/"
    assert subscription.get("properties", "filter", "subjectBeginsWith") == prefix
    url = subscription.get("properties", "destination", "properties", "endpointUrl")
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.intake_program&code=" in url
    # The system topic the hook subscribes to is the one storage.bicep creates.
    assert module_output(subscription.scope.bound["systemTopicName"]) == (topic.scope.file, f"{topic.symbol}.name")


def test_flex_consumption_python_runtime() -> None:
    plan = one("Microsoft.Web/serverfarms")
    assert (plan.get("sku", "name"), plan.get("sku", "tier")) == ("FC1", "FlexConsumption")
    site = one("Microsoft.Web/sites")
    assert site.get("kind") == "functionapp,linux"
    config = site.config["properties"]["functionAppConfig"]
    python = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    assert evaluate(config["runtime"], site.scope) == {"name": "python", "version": python}
    storage = evaluate(config["deployment"]["storage"], site.scope)
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    containers = {c.get("name") for c in instances("Microsoft.Storage/storageAccounts/blobServices/containers")}
    assert any(storage["value"].endswith(f"}}{name}") for name in containers), storage["value"]
    assert set(evaluate(config["scaleAndConcurrency"], site.scope)) >= {"maximumInstanceCount", "instanceMemoryMB"}


def test_one_user_assigned_identity_holds_exactly_the_expected_roles() -> None:
    identities = instances("Microsoft.ManagedIdentity/userAssignedIdentities")
    assert len(identities) == 1
    identity_principal = (identities[0].scope.file, f"{identities[0].symbol}.properties.principalId")
    granted: set[str] = set()
    for assignment in instances("Microsoft.Authorization/roleAssignments"):
        principal = assignment.get("properties", "principalId")
        assert module_output(principal) == identity_principal, f"{assignment.symbol} grants to {principal}"
        role = GUID.findall(assignment.get("properties", "roleDefinitionId"))
        assert len(role) == 1, f"{assignment.symbol}: {assignment.get('properties', 'roleDefinitionId')}"
        assert role[0] in ROLES, f"{assignment.symbol} grants an unexpected role {role[0]}"
        granted.add(role[0])
        # Scoped to one resource declared in the same file, never to the resource group or subscription.
        target = assignment.config["scope"]
        resources = parsed(assignment.scope.file)["resources"]
        assert isinstance(target, BicepElement), f"{assignment.symbol} has no resource scope"
        assert target in resources, f"{assignment.symbol} is scoped to {target}"
        assert not resources[target]["type"].startswith("Microsoft.Resources/"), assignment.symbol
    missing = {ROLES[r] for r in ROLES.keys() - granted}
    assert not missing, f"roles the identity needs but does not get: {missing}"

    cosmos = one("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert module_output(cosmos.get("properties", "principalId")) == identity_principal
    assert cosmos.get("properties", "roleDefinitionId").endswith(f"/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}")


# ---------------------------------------------------------------------------------------------------------
# No secrets, and local auth off where the issue asks


def scanned_files() -> list[Path]:
    infra = [p for p in INFRA.rglob("*") if p.is_file() and p.suffix in {".bicep", ".json", ".sh", ".ps1"}]
    return sorted([*infra, REPO / "azure.yaml", REPO / "local.settings.sample.json"])


FORBIDDEN = {
    "listKeys(": re.compile(r"listKeys\(", re.IGNORECASE),
    "listConnectionStrings": re.compile(r"listConnectionStrings", re.IGNORECASE),
    "az ... keys list": re.compile(r"\bkeys list\b", re.IGNORECASE),
    "AccountKey=": re.compile(r"AccountKey=", re.IGNORECASE),
    "SharedAccessKey": re.compile(r"SharedAccessKey", re.IGNORECASE),
    "SAS signature": re.compile(r"SharedAccessSignature|[?&]sig=", re.IGNORECASE),
    "connectionString": re.compile(r"connection_?string", re.IGNORECASE),
}


def allowed(pattern: str, path: Path, line: str) -> bool:
    if pattern == "listKeys(" and path == INFRA / BLOB_DROP:
        # The blob-drop subscription reads the function's blobs_extension key inside the deployment (see the file).
        return "siteHost.listKeys().systemKeys.blobs_extension" in line or line.lstrip().startswith("//")
    if pattern == "connectionString":
        # Application Insights' connection string only locates the component; telemetry needs an Entra token.
        return bool(re.search(r"applicationInsights|APPLICATIONINSIGHTS", line))
    return False


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_keys_or_connection_strings(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for name, pattern in FORBIDDEN.items():
            assert not pattern.search(line) or allowed(name, path, line), f"{path.name}:{number}: {name}: {line}"


def test_list_keys_appears_once() -> None:
    uses = [line for p in scanned_files() for line in p.read_text().splitlines() if ".listKeys()" in line]
    assert len(uses) == 1


SECURITY_SWITCHES = [
    ("Microsoft.Storage/storageAccounts", ("properties", "allowSharedKeyAccess"), False),
    ("Microsoft.Storage/storageAccounts", ("properties", "allowBlobPublicAccess"), False),
    ("Microsoft.Storage/storageAccounts", ("properties", "minimumTlsVersion"), "TLS1_2"),
    ("Microsoft.Storage/storageAccounts", ("properties", "supportsHttpsTrafficOnly"), True),
    ("Microsoft.ServiceBus/namespaces", ("properties", "disableLocalAuth"), True),
    ("Microsoft.DocumentDB/databaseAccounts", ("properties", "disableLocalAuth"), True),
    ("Microsoft.EventGrid/topics", ("properties", "disableLocalAuth"), True),
    ("Microsoft.Insights/components", ("properties", "DisableLocalAuth"), True),
    ("Microsoft.Web/sites", ("properties", "httpsOnly"), True),
    ("Microsoft.Web/sites", ("properties", "siteConfig", "ftpsState"), "Disabled"),
]


@pytest.mark.parametrize(
    ("resource_type", "path", "expected"),
    SECURITY_SWITCHES,
    ids=[f"{t.rsplit('/', 1)[-1]}.{p[-1]}" for t, p, _ in SECURITY_SWITCHES],
)
def test_security_switches(resource_type: str, path: tuple[str, ...], expected: object) -> None:
    assert instances(resource_type), resource_type
    for resource in instances(resource_type):
        assert resource.get(*path) == expected, f"{resource.scope.file}: {resource.symbol}.{'.'.join(path)}"
