"""What the engines teams already run do to a stack holding a Destination after Heroku rotated its credentials,
with the real engine and the very verbs they run (docs/day-two.md, "Pulumi Deployments and the Kubernetes
Operator"):

- Pulumi Deployments' drift detection: a preview-only refresh, `pulumi refresh --preview-only`
  (pulumi/docs content/docs/deployments/concepts/drift.md: "Pulumi Cloud detects drift by running a
  preview-only refresh");
- its auto-remediation, and the Kubernetes Operator's Stack with `refresh: true` (its resync with
  `continueResyncOnCommitMatch`): `pulumi up --refresh` (drift.md: "runs `pulumi up --refresh` after a detection
  run finds drift"; pulumi-kubernetes-operator agent/pkg/server/server.go Up: `optup.Refresh()`, no run-program);
- the Operator's Stack without `refresh` (its default): a plain `pulumi up`;
- each of the first two with the program run first: `--run-program`, or `PULUMI_RUN_PROGRAM=true` in the
  environment (pulumi/pulumi sdk/go/common/env/env.go RunProgram: the default of the flag), which both
  Deployments (deployment settings' environment variables) and the Operator (the Stack's `envRefs`) can set.

Then what none of them judges: a load Stitch failed and a database over its plan's capacity, which the
reconcile reports.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psycopg
import pytest
from pulumi import automation as auto

from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real, load_error
from tests.support.real_engine import RealStack, new_app_name, real_stack
from tests.test_reconcile import configure, report_of, run_reconcile
from tests.test_reconcile_capacity import load_rows

STALE = "password authentication failed"


@pytest.fixture
def app_name() -> str:
    return new_app_name("drift")


@contextlib.contextmanager
def run_program_from_environment(stack: RealStack) -> Iterator[None]:
    """PULUMI_RUN_PROGRAM=true for the CLI's runs, as a deployment's or a workspace pod's environment sets it."""
    variables = stack.stack.workspace.env_vars
    variables["PULUMI_RUN_PROGRAM"] = os.environ["PULUMI_RUN_PROGRAM"] = "true"
    try:
        yield
    finally:
        variables.pop("PULUMI_RUN_PROGRAM")
        os.environ.pop("PULUMI_RUN_PROGRAM")


def password_of(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["password"])


def stitch_password(stitch: StitchServer) -> str:
    (destination,) = stitch.destinations.values()
    return str(destination["properties"]["password"])


def test_after_a_rotation_only_the_verbs_that_run_the_program_heal_and_none_judges_loads_or_capacity(
    toolchain, tmp_path, heroku, app_name
):
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch, real_stack(tmp_path, "dev-drift") as stack:
        configure(stack, heroku, app_name, stitch, storage_limit_gb="0.01")
        try:
            stack.up()
            (addon,) = heroku.addons
            given = stitch_password(stitch)
            puts_before = stitch.calls("PUT")

            # Heroku rotates the database's credential (the owner's, which Stitch loads as on an essential plan).
            heroku.rotate_credentials(addon)
            rotated = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
            assert rotated != given

            # Deployments' drift detection, its auto-remediation and the Operator's `refresh: true`: the postgresql
            # provider is configured from the state's revoked password, and the run fails. The refresh before the
            # failure keeps the app's new config vars in the state, which does not help: the next detection fails too.
            verbs = {
                "refresh --preview-only": stack.preview_refresh,
                "up --refresh": lambda: stack.up(refresh=True),
                "the next refresh --preview-only": stack.preview_refresh,
            }
            for verb, run in verbs.items():
                with pytest.raises(auto.CommandError) as stale:
                    run()
                assert STALE in str(stale.value), f"{verb}: {str(stale.value)[-1500:]}"
                assert rotated not in str(stale.value) and given not in str(stale.value), f"{verb} printed a password"
            assert stitch.calls("PUT") == puts_before and stitch_password(stitch) == given, "Stitch got nothing"
            assert stack.outputs()["verification"].value["ready"] is True, "the outputs still say what the last up saw"

            # The same verbs with the program run first (PULUMI_RUN_PROGRAM=true): drift seen, then healed.
            with run_program_from_environment(stack):
                detected = stack.preview_refresh()
                assert detected.change_summary.get("update", 0) >= 1, f"the rotation is drift: {detected.change_summary}"
                assert stitch_password(stitch) == given, "a preview-only refresh changed Stitch"
                healed = stack.up(refresh=True)
            assert healed.summary.result == "succeeded"
            assert stitch_password(stitch) == rotated, "the remediation did not send Stitch the rotated password"
            assert stack.outputs()["verification"].value["ready"] is True

            # --run-program on the command line does the same.
            heroku.rotate_credentials(addon)
            again = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
            assert stack.preview_refresh(run_program=True).change_summary.get("update", 0) >= 1
            assert stack.up(refresh=True, run_program=True).summary.result == "succeeded"
            assert stitch_password(stitch) == again

            # The Operator's default Stack (no refresh): a plain `up` runs the program, so it heals too.
            heroku.rotate_credentials(addon)
            third = password_of(heroku.config_vars(app_name)["DATABASE_URL"])
            assert stack.up().summary.result == "succeeded" and stitch_password(stitch) == third

            # What none of these verbs judges. A load Stitch failed (its disk full): nothing drifted in the stack.
            error = load_error("Encountered error while loading", "could not extend file: No space left on device", sql_state="53100")
            stitch.add_load("heroku_1", "orders", error=error)
            assert not changes(stack.preview_refresh(run_program=True).change_summary), "drift detection saw the failed load"
            assert not changes(stack.up(refresh=True, run_program=True).summary.resource_changes or {})
            report = report_of(run_reconcile(stack, "--json"))
            assert report["status"] == "failing", report
            assert any(p.get("cause") == "stitch-load:storage" for p in report["problems"]), report["problems"]

            # The database past its storage limit (storage_limit_gb 0.01, the user's own; 5 MB of Stitch's rows): still no drift.
            stitch.loads.clear()
            load_rows(heroku.config_vars(app_name)["DATABASE_URL"], 5000)
            assert not changes(stack.preview_refresh(run_program=True).change_summary), "drift detection saw the capacity"
            assert stack.up(refresh=True, run_program=True).summary.result == "succeeded"
            report = report_of(run_reconcile(stack, "--json"))
            assert report["status"] == "failing" and report["problems"][0]["what"].endswith("failed (capacity)"), report
            for secret in (given, rotated, again, third, heroku.api_key, stitch.token):
                assert secret not in stack.all_printed() and secret not in stack.state_text()
        finally:
            stack.destroy()


def changes(summary: dict[str, int]) -> dict[str, int]:
    """What an operation changed (or would), leaving out what it left alone."""
    return {op: n for op, n in summary.items() if op not in ("same", "read", "refresh") and n}
