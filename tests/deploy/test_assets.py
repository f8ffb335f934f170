"""The operations assets in deploy/: the Grafana dashboard, the Prometheus rules and scrape
configuration, the systemd units.

Every PromQL expression must parse and may name only series that a real app's ``/metrics``
exposes (Prometheus's own ``up`` aside), so a renamed metric breaks this test instead of a
dashboard. Expressions are checked by a small tokenizer always, and by ``promtool`` when it
is installed (``make promtool``; Debian's prometheus package).
"""

from __future__ import annotations

import asyncio
import configparser
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.core import TyperGroup

from tests.support.api import api_world
from tests.support.databases import SQLiteDatabases
from unimeter.cli.main import app as cli_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "unimeter-dashboard.json"
RULES = DEPLOY / "prometheus" / "unimeter-rules.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"
SYSTEMD = DEPLOY / "systemd"

# Series Prometheus makes itself for every target.
SYNTHETIC = frozenset({"up"})
# Grafana's variables, replaced by something PromQL accepts before promtool reads them.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": ".+"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: identifiers outside strings, label matchers, range
    brackets and label lists that are neither functions, keywords nor numbers."""
    assert _balanced(expr), f"unbalanced brackets in {expr!r}"
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("{}", text)
    text = _RANGE.sub("[]", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        follows = text[match.end() :].lstrip()
        if follows.startswith("(") or match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def _balanced(expr: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (status) (rate(a_total{status="failed", x=~"a{b}"}[5m]))', {"a_total"}),
        ("histogram_quantile(0.95, sum by (le) (rate(h_bucket[$__rate_interval])))", {"h_bucket"}),
        ("max(g) > 0 and max(deriv(g[30m])) > 0 unless on (job) up offset 5m", {"g", "up"}),
        ("sum(rate(a[1h])) / sum(rate(b[1h])) > 1e3", {"a", "b"}),
    ],
)
def test_the_tokenizer_finds_the_series(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_the_tokenizer_refuses_unbalanced_brackets() -> None:
    with pytest.raises(AssertionError, match="unbalanced"):
        metric_names("sum(rate(a[5m])")


# --- what /metrics exposes ------------------------------------------------------------


@pytest.fixture(scope="module")
def exposed(
    tmp_path_factory: pytest.TempPathFactory, sqlite_databases: SQLiteDatabases
) -> set[str]:
    """Every series name a real app's ``/metrics`` serves: a family's type says which (a
    labelled family without samples yet still declares itself)."""

    async def scrape() -> str:
        data_dir = tmp_path_factory.mktemp("data")
        async with api_world(sqlite_databases.create(), data_dir, synced=False) as api:
            assert (await api.get("/integrated-accounts")).status_code == 200
            response = await api.client.get("/metrics")
        assert response.status_code == 200, response.text
        return response.text

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    names: set[str] = set()
    for family in text_string_to_metric_families(asyncio.run(scrape())):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_scrape_declares_every_unimeter_family(exposed: set[str]) -> None:
    # The reference the other tests compare with is complete: counters with their _total,
    # histograms with their three series, labelled families that have no sample yet.
    assert {
        "unimeter_sync_runs_total",
        "unimeter_vendor_wait_seconds_bucket",
        "unimeter_http_request_duration_seconds_count",
        "unimeter_notification_deliveries_total",
        "unimeter_sync_heartbeat_age_seconds",
    } <= exposed
    assert "unimeter_sync_runs" not in exposed, "a counter is exposed with its _total only"


# --- the Grafana dashboard ------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panel_targets() -> Iterator[tuple[str, str]]:
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test_the_dashboard_is_one_grafana_dashboard_with_unique_panels() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] == "unimeter"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in board["templating"]["list"]}
    assert variables == {"datasource", "job"}
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_panel_queries_only_exposed_series(exposed: set[str]) -> None:
    for title, expr in panel_targets():
        names = metric_names(expr)
        assert names, f"{title}: {expr!r} selects no series"
        assert names <= exposed, f"{title}: {sorted(names - exposed)} are not exposed"
    for variable in dashboard()["templating"]["list"]:
        for name in re.findall(r"label_values\((\w+)", variable.get("definition", "")):
            assert name in exposed, variable["name"]


def test_every_unimeter_family_has_a_panel(exposed: set[str]) -> None:
    shown = {name for _, expr in panel_targets() for name in metric_names(expr)}
    families = {_family(name) for name in exposed if name.startswith("unimeter_")}
    assert families <= {_family(name) for name in shown}


def _family(series: str) -> str:
    return re.sub(r"_(total|bucket|count|sum)$", "", series)


# --- the Prometheus rules and scrape configuration ------------------------------------


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_every_rule_is_a_complete_alert_on_exposed_series(exposed: set[str]) -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        series = metric_names(rule["expr"])
        assert series, rule["alert"]
        assert series <= exposed | SYNTHETIC, f"{rule['alert']}: {sorted(series - exposed)}"


def test_the_rules_cover_failing_syncs_reauth_backlogs_and_stalls() -> None:
    used = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert {
        "unimeter_sync_runs_total",  # failing syncs
        "unimeter_integrated_accounts",  # accounts in needs_reauth
        "unimeter_webhook_outbox_pending",  # a growing webhook backlog
        "unimeter_sync_heartbeat_age_seconds",  # stalled workers
    } <= used
    reauth = [rule for rule in rules() if "unimeter_integrated_accounts" in rule["expr"]]
    assert any('status="needs_reauth"' in rule["expr"] for rule in reauth)


def test_the_scrape_config_loads_the_rules_and_scrapes_api_and_workers() -> None:
    config = yaml.safe_load(SCRAPE.read_text())
    assert config["rule_files"] == [RULES.name]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["unimeter-api"]["metrics_path"] == "/metrics"
    assert "unimeter-worker" in jobs
    # The target-down rule's job pattern matches both jobs.
    target_down = next(rule for rule in rules() if rule["expr"].startswith("up{"))
    pattern = re.search(r'job=~"([^"]+)"', target_down["expr"])
    assert pattern is not None
    assert all(re.fullmatch(pattern.group(1), job) for job in jobs)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: `make promtool`")
def test_promtool_accepts_the_rules_the_config_and_every_panel(tmp_path: Path) -> None:
    for command in (["check", "rules", str(RULES)], ["check", "config", str(SCRAPE)]):
        done = subprocess.run(["promtool", *command], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    # promtool parses expressions only inside rules: the panels become recording rules.
    recorded = []
    for index, (_, expr) in enumerate(panel_targets()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        recorded.append({"record": f"panel:expr_{index}", "expr": expr})
    panels = tmp_path / "panels.yml"
    panels.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": recorded}]}))
    done = subprocess.run(
        ["promtool", "check", "rules", str(panels)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- systemd units --------------------------------------------------------------------


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string((SYSTEMD / name).read_text())
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [("unimeter-serve.service", "serve"), ("unimeter-worker@.service", "worker")],
)
def test_each_unit_starts_its_command_with_options_the_cli_has(name: str, command: str) -> None:
    parsed = unit(name)
    assert set(parsed.sections()) == {"Unit", "Service", "Install"}
    service = parsed["Service"]
    assert service["User"] == "unimeter"
    assert service["EnvironmentFile"] == "/etc/unimeter/unimeter.env"
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "unimeter" and argv[1] == command
    click_command = typer.main.get_command(cli_app)
    assert isinstance(click_command, TyperGroup)
    options = {
        flag
        for param in click_command.commands[command].params
        for flag in [*param.opts, *param.secondary_opts]
    }
    used = {arg for arg in argv[2:] if arg.startswith("--")}
    assert used and used <= options, sorted(used - options)


def test_no_secret_is_written_into_the_units_or_the_env_example() -> None:
    for path in SYSTEMD.iterdir():
        for line in path.read_text().splitlines():
            if line.lstrip().startswith("#"):
                continue
            assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", line), f"{path.name}: {line}"
            assert not re.match(r"\s*(Environment=)?UNIMETER_SECRET_KEY=\S", line), path.name
            assert "PASSWORD" not in line.upper(), f"{path.name}: {line}"
