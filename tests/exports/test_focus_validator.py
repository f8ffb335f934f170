"""The FOCUS export checked by the FinOps Foundation's own validator (``focus-validator``,
FOCUS 1.2 rules, offline), as CSV and as Parquet, for each Cursor plan.

The validator needs Python >= 3.12, so ``make focus-validator`` installs it into a venv of
its own (``.venv-focus``) and ``UNIMETER_FOCUS_VALIDATOR`` points at it; without it the
test skips. Each run is a subprocess whose console summary is parsed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.api import api_world

START, END = "2020-01-01", "2030-01-01"
FOCUS_VERSION = "1.2.0.1"
DEFAULT_EXECUTABLE = Path(__file__).parents[2] / ".venv-focus" / "bin" / "focus-validator"
SUMMARY = re.compile(r"Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)")
# One result line: an icon, then "<rule id>: PASS|FAIL|SKIPPED".
RESULT = re.compile(r"^\S+\s+([A-Za-z]+-[A-Z]-\d{3}-[A-Z]): (PASS|FAIL|SKIPPED)\b", re.MULTILINE)
PLANS = ("enterprise", "team")


def _executable() -> Path:
    configured = os.environ.get("UNIMETER_FOCUS_VALIDATOR", "").strip()
    for candidate in (Path(configured) if configured else None, DEFAULT_EXECUTABLE):
        if candidate is not None and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("needs Python 3.12 for focus-validator (make focus-validator)")


def _package(executable: Path) -> Path:
    """The installed ``focus_validator`` package, asked of the venv's own Python."""
    code = "import focus_validator, pathlib; print(pathlib.Path(focus_validator.__file__).parent)"
    found = subprocess.run(
        [str(executable.parent / "python"), "-c", code],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return Path(found.stdout.strip())


def _or_alternatives(package: Path) -> dict[str, str]:
    """Rule → the OR rule it is one alternative of, from the validator's FOCUS model.

    The model encodes "null in one case, not null in the other" as an OR of two rules
    (InvoiceId-C-003-C of C-004-C "MUST be null" and C-005-C "MUST NOT be null"); the
    validator reports the OR and, besides, each alternative as a rule of its own, so on any
    data the branch not taken counts as a failure. Such a failure is no failure when its OR
    passed."""
    model = json.loads((package / "rules" / f"model-{FOCUS_VERSION}.json").read_text())
    alternatives: dict[str, str] = {}
    for rule_id, rule in model["ModelRules"].items():
        requirement = rule["ValidationCriteria"].get("Requirement") or {}
        if requirement.get("CheckFunction") != "OR":
            continue
        for item in requirement.get("Items", []):
            if item.get("CheckFunction") == "CheckModelRule":
                alternatives[item["ModelRuleId"]] = rule_id
    return alternatives


def _validate(executable: Path, data: Path, workdir: Path) -> tuple[dict[str, int], dict[str, str]]:
    """The validator's summary counts and each rule's status, for one file."""
    # The validator reads its currency codes from a path relative to the working directory
    # (focus_validator/rules/currency_codes.csv) and writes a log there.
    workdir.mkdir()
    (workdir / "focus_validator").symlink_to(_package(executable))
    done = subprocess.run(
        [str(executable), "--data-file", str(data), "--validate-version", FOCUS_VERSION,
         "--block-download"],
        cwd=workdir, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = SUMMARY.search(done.stdout)
    assert summary, done.stdout[-3000:]
    counts = dict(
        zip(("total", "pass", "fail", "skipped"), map(int, summary.groups()), strict=True)
    )
    statuses = dict(RESULT.findall(done.stdout))
    assert len(statuses) == counts["total"], "every rule's line was read"
    return counts, statuses


@pytest.mark.parametrize("plan", PLANS)
async def test_focus_export_passes_the_focus_validator(
    plan: str, sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    executable = _executable()
    files = {}
    async with api_world(sqlite_url, data_dir, sim_options={"users": 12, "plan": plan}) as api:
        account = api.accounts["default"]
        for fmt in ("csv", "parquet"):
            response = await api.get("/exports/focus", integrated_account_id=account,
                                     start_date=START, end_date=END, format=fmt)  # fmt: skip
            assert response.status_code == 200, response.text
            files[fmt] = tmp_path / f"focus.{fmt}"
            files[fmt].write_bytes(response.content)
    alternatives = _or_alternatives(_package(executable))

    for fmt, path in files.items():
        counts, statuses = _validate(executable, path, tmp_path / f"run-{fmt}")
        failed = sorted(rule for rule, status in statuses.items() if status == "FAIL")
        untaken = [rule for rule in failed if statuses.get(alternatives.get(rule, "")) == "PASS"]
        assert [rule for rule in failed if rule not in untaken] == [], (fmt, failed)
        # Only InvoiceId has such an OR among the rules that apply to this export.
        assert untaken == ["InvoiceId-C-005-C"], (fmt, failed)
        assert statuses["InvoiceId-C-004-C"] == "PASS", "InvoiceId is null: no invoice"
        assert counts["fail"] == len(untaken), (fmt, counts)
        assert counts["pass"] > 100, (fmt, counts)
        for rule in ("PricingQuantity-C-001-M", "BilledCost-C-000-M", "CostAndUsage-D-033-O"):
            assert statuses[rule] == "PASS", (fmt, rule)
