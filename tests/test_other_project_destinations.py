"""Two Destinations in a program of another project, in Python (its own venv with the package pip-installed, the
program run inline in that venv) and in Pulumi YAML (the real YAML language host of the toolchain), through the
real engine: each Destination's Stitch token is an input from the program's own secret config, and each registers
its destination in its own Stitch account (two Stitch doubles, two tokens); no STITCH_ACCESS_TOKEN anywhere.

Then the installed `stitch-heroku reconcile --stack` and `stitch-heroku verify --stack`, in the project's folder:
in sync and ready, with each account's loads read once and judged for its Destination; a failing load of the second
Destination's source fails both, naming that Destination.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests import test_component_package
from tests.doubles.fake_stitch import FakeStitch, StitchServer, connects_for_real, load_error
from tests.test_component_package import Consumer, url_database

NAMES = ("alpha", "bravo")
user_venv = test_component_package.user_venv  # the fixture: a venv of the user's own with the package pip-installed

PYTHON_PROGRAM = """\
    import pulumi
    from stitch_heroku import Destination, DestinationArgs

    config = pulumi.Config()
    for name in ("alpha", "bravo"):
        warehouse = Destination(
            f"wh-{name}",
            DestinationArgs(
                source="url",
                database_url=config.require_secret(f"{name}Url"),
                stitch_role_name=config.require(f"{name}Role"),
                stitch_access_token=config.require_secret(f"{name}Token"),
                stitch_api_url=config.require(f"{name}StitchApi"),
                stitch_check_timeout=30,
                verify_timeout=20,
            ),
        )
        pulumi.export(f"{name}_verification", warehouse.verification)
"""

YAML_RESOURCE = """\
  wh-{name}:
    type: stitch-heroku:index:Destination
    properties:
      source: url
      databaseUrl: ${{{name}Url}}
      stitchRoleName: ${{{name}Role}}
      stitchAccessToken: ${{{name}Token}}
      stitchApiUrl: ${{{name}StitchApi}}
      stitchCheckTimeout: 30
      verifyTimeout: 20
"""


def write_program(consumer: Consumer, project: str) -> None:
    if consumer.language == "python":
        (consumer.dir / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
        (consumer.dir / "__main__.py").write_text(textwrap.dedent(PYTHON_PROGRAM))
    else:
        config = "".join(
            f"  {name}Url: {{type: string, secret: true}}\n  {name}Role: {{type: string}}\n"
            f"  {name}Token: {{type: string, secret: true}}\n  {name}StitchApi: {{type: string}}\n"
            for name in NAMES
        )
        resources = "".join(YAML_RESOURCE.format(name=name) for name in NAMES)
        outputs = "".join(f"  {name}Verification: ${{wh-{name}.verification}}\n" for name in NAMES)
        (consumer.dir / "Pulumi.yaml").write_text(
            f"name: {project}\nruntime: yaml\nconfig:\n{config}resources:\n{resources}outputs:\n{outputs}"
        )
    consumer.run("init")


def day_two(consumer: Consumer, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `stitch-heroku` in the project's folder, as a person or a schedule runs it."""
    argv = [str(consumer.venv / "bin" / "stitch-heroku"), *args, "--stack", consumer.stack]
    return subprocess.run(argv, cwd=consumer.dir, env=consumer.env, capture_output=True, text=True, check=False, timeout=900)


def as_json(done: subprocess.CompletedProcess[str]) -> dict:
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"not one JSON object:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}") from None


def loads_requests(stitch: FakeStitch) -> int:
    return sum(1 for call in stitch.calls("GET") if "/loads" in call)


@pytest.mark.parametrize("language", ["python", "yaml"])
def test_two_destinations_of_another_project_each_judged_with_its_own_token_and_loads(
    language, user_venv, toolchain, tmp_path, ssl_server
):  # fmt: skip
    consumer = Consumer(tmp_path, user_venv, language=language)
    consumer.env.pop("STITCH_ACCESS_TOKEN", None)
    project = f"acme-warehouses-{language}"
    write_program(consumer, project)
    with (
        StitchServer(FakeStitch(check_outcome=connects_for_real, token="alpha-account-t0ken")) as alpha,
        StitchServer(FakeStitch(check_outcome=connects_for_real, token="bravo-account-t0ken")) as bravo,
    ):
        accounts = dict(zip(NAMES, (alpha, bravo), strict=True))
        values, secrets = {}, {}
        for name, stitch in accounts.items():
            db = url_database(ssl_server, f"wh_{name}_{language}")
            values |= {f"{project}:{name}Role": f"stitch_{name}_{language}", f"{project}:{name}StitchApi": stitch.url}
            secrets |= {f"{project}:{name}Url": db.owner_url, f"{project}:{name}Token": stitch.token}
        consumer.configure(values, secrets)
        try:
            up = consumer.run("up")
            assert up["result"] == "succeeded", up
            for name, stitch in accounts.items():
                (destination,) = stitch.destinations.values()
                assert destination["properties"]["username"] == f"stitch_{name}_{language}", f"{name}'s account got another's"
                stitch.add_load(f"{name}_src", "orders")

            # In sync, each Destination with its own account's loads, each account read once.
            done = day_two(consumer, "reconcile", "--json")
            report = as_json(done)
            assert done.returncode == 0 and report["status"] == "in-sync", done.stdout[-3000:] + done.stderr[-3000:]
            (stack,) = report["stacks"]
            judged = {entry["name"]: entry for entry in stack["destinations"]}
            assert set(judged) == {f"wh-{name}" for name in NAMES}, judged.keys()
            for name, stitch in accounts.items():
                loads = judged[f"wh-{name}"]["loads"]
                assert loads["read"] is True and [s["source"] for s in loads["sources"]] == [f"{name}_src"], loads
                assert loads_requests(stitch) == 1, f"{name}'s account: its loads read once"
            verified = as_json(day_two(consumer, "verify", "--json"))
            assert verified["ready"] is True and len(verified["destinations"]) == 2, verified

            # Stitch fails a load of bravo's source: both commands fail, naming wh-bravo.
            words = 'permission denied for table orders'
            bravo.add_load("bravo_src", "orders", error=load_error("Encountered error while loading", words, sql_state="42501"))
            done = day_two(consumer, "reconcile", "--json")
            report = as_json(done)
            assert done.returncode == 1 and report["status"] == "failing", report
            statuses = {entry["name"]: entry["status"] for entry in report["stacks"][0]["destinations"]}
            assert statuses == {"wh-alpha": "in-sync", "wh-bravo": "failing"}, statuses
            line = day_two(consumer, "reconcile").stdout.splitlines()[0]
            assert line.startswith(f"{consumer.stack}: failing (wh-bravo: Stitch's last load of bravo_src.orders failed"), line
            done = day_two(consumer, "verify", "--json")
            verified = as_json(done)
            assert done.returncode == 1 and verified["ready"] is False, verified
            assert {e["name"]: e["ready"] for e in verified["destinations"]} == {"wh-alpha": True, "wh-bravo": False}
            said = day_two(consumer, "verify").stdout
            assert "NOT READY: wh-bravo (2 Destinations)" in said, said[-2000:]
            for stitch in accounts.values():
                assert stitch.token not in done.stdout + done.stderr and stitch.token not in said
        finally:
            consumer.run("destroy")
