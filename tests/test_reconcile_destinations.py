"""Day two in a project of another name whose program declares two Destinations (real engine, real PostgreSQL, the
Stitch double): each is found by its type in the state and judged with the token it was given as its input (no
STITCH_ACCESS_TOKEN needed), or the run's; one managed in Stitch with no token anywhere fails with how to give one; a
failing load of the second Destination's source fails the run naming it, in the reconcile and in `verify --stack`.

The program is the user's own `__main__.py` in its own folder (Pulumi.yaml `name: acme-warehouse`), run by the
Automation API inline (the toolchain has no Python language host), as the reconcile then runs it too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from psycopg import sql
from pulumi import automation as auto
from stitch_heroku.ops import workspace

from tests.doubles.fake_stitch import CLIENT_ID, FakeStitch, StitchServer, connects_for_real, load_error
from tests.support.real_engine import configure_by_cli, engine_env, process_environ, toolchain_bin
from tests.test_component_package import url_database

PROJECT = "acme-warehouse"
PROGRAM = """\
    import pulumi
    from stitch_heroku import Destination, DestinationArgs

    config = pulumi.Config()
    for name in ("wh-alpha", "wh-bravo"):
        args = DestinationArgs(
            source="url", database_url=config.require_secret(f"{name}-url"), stitch_role_name=config.require(f"{name}-role"),
            stitch_api_url=config.require("stitchApiUrl"), stitch_destination_name=f"acme {name}", stitch_check_timeout=30,
            verify_timeout=20,
        )
        token = config.get_secret(f"{name}-token")
        if token is not None:  # wh-bravo takes the run's (STITCH_ACCESS_TOKEN)
            args["stitch_access_token"] = token
        Destination(name, args)
"""


def day_two(folder: Path, env: dict[str, str], *argv: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, *argv, "--json"], cwd=folder, env=env, capture_output=True, text=True, timeout=900, check=False)
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"not one JSON object:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}") from None


def test_two_destinations_of_another_project_each_judged_with_its_own_token_and_the_second_ones_failing_load_named(
    toolchain, tmp_path, ssl_server
):
    cluster = ssl_server.cluster
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
    (folder / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    (tmp_path / "state").mkdir()
    bin_dir = toolchain_bin()
    with StitchServer(FakeStitch(check_outcome=connects_for_real)) as stitch:
        env = engine_env(bin_dir, tmp_path, {"STITCH_ACCESS_TOKEN": stitch.token})
        without_token = env | {"STITCH_ACCESS_TOKEN": ""}
        command = auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True)
        options = auto.LocalWorkspaceOptions(work_dir=str(folder), env_vars=env, pulumi_command=command)
        with process_environ(env):  # the inline program runs in this process
            stack = workspace.open_stack("dev", folder, options, inline=True, project_name=PROJECT)
            databases = {name: url_database(ssl_server, f"dd_{name.replace('-', '_')}") for name in ("wh-alpha", "wh-bravo")}
            values = {f"{PROJECT}:stitchApiUrl": stitch.url}
            values |= {f"{PROJECT}:{name}-role": f"{name.replace('-', '_')}_stitch" for name in databases}
            secrets = {f"{PROJECT}:{name}-url": db.owner_url for name, db in databases.items()}
            configure_by_cli(bin_dir / "pulumi", "dev", folder, env, values, secrets | {f"{PROJECT}:wh-alpha-token": stitch.token})
            try:
                stack.up(color="never", on_output=lambda _line: None)
                assert len(stitch.destinations) == 2
                for n, name in enumerate(databases, start=1):  # what Stitch made of each Destination's source
                    with cluster.superuser(f"dd_{name.replace('-', '_')}") as conn:
                        conn.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                            sql.Identifier(f"heroku_{n}"), sql.Identifier(f"{name.replace('-', '_')}_stitch")))  # fmt: skip
                    stitch.add_load(f"heroku_{n}", "orders", loaded_at="2026-11-28T10:00:00Z")

                # No token in the run: wh-alpha's own (its input) reads Stitch; wh-bravo, managed in Stitch, fails with how to give one.
                code, report = day_two(folder, without_token, "-m", "stitch_heroku.ops.cli", "reconcile", "--stack", "dev")
                assert code == 1 and report["status"] == "failing", report
                alpha, bravo = report["stacks"][0]["destinations"]
                assert (alpha["name"], bravo["name"]) == ("wh-alpha", "wh-bravo")
                assert alpha["stitch"]["managed"] is True and alpha["loads"]["read"] is True, alpha
                assert [s["source"] for s in alpha["loads"]["sources"]] == ["heroku_1"]
                assert bravo["status"] == "failing" and bravo["problems"][0]["what"].startswith(
                    "Destination 'wh-bravo' is managed in Stitch"
                ), bravo["problems"]
                assert "stitchAccessToken" in bravo["problems"][0]["fix"] and "STITCH_ACCESS_TOKEN" in bravo["problems"][0]["fix"]
                assert stitch.token not in json.dumps(report)

                # With the run's token both are in sync, each with its own source's loads, the account's loads read once.
                before = len([c for c in stitch.calls() if "/loads" in c])
                code, report = day_two(folder, env, "-m", "stitch_heroku.ops.cli", "reconcile", "--stack", "dev")
                assert code == 0 and report["status"] == "in-sync", report
                alpha, bravo = report["stacks"][0]["destinations"]
                assert [s["source"] for s in bravo["loads"]["sources"]] == ["heroku_2"] and bravo["status"] == "in-sync", bravo
                assert [c for c in stitch.calls() if "/loads" in c][before:] == [f"GET /v4/{CLIENT_ID}/loads"], "once a run"

                # The second Destination's source fails to load: the run fails and names it first.
                stitch.add_load(
                    "heroku_2", "orders", error=load_error("Encountered error while loading", "ERROR: disk full", sql_state="53100")
                )
                code, report = day_two(folder, env, "-m", "stitch_heroku.ops.cli", "reconcile", "--stack", "dev")
                assert code == 1 and report["status"] == "failing", report
                alpha, bravo = report["stacks"][0]["destinations"]
                assert alpha["status"] == "in-sync" and bravo["status"] == "failing"
                assert report["problems"][0]["what"].startswith("wh-bravo: Stitch's last load of heroku_2.orders failed (storage)")
                line = subprocess.run([sys.executable, "-m", "stitch_heroku.ops.cli", "reconcile", "--stack", "dev"], cwd=folder, env=env,
                                      capture_output=True, text=True, timeout=900, check=False).stdout.splitlines()[0]  # fmt: skip
                assert line.startswith("dev: failing (wh-bravo: Stitch's last load of heroku_2.orders failed"), line

                code, verified = day_two(folder, env, "-m", "stitch_heroku.ops.cli", "verify", "--stack", "dev")
                assert code == 1 and verified["ready"] is False, verified
                assert [(d["name"], d["ready"]) for d in verified["destinations"]] == [("wh-alpha", True), ("wh-bravo", False)]
                assert verified["destinations"][1]["loads"]["failing"][0]["source"] == "heroku_2"
            finally:
                stack.destroy(color="never", on_output=lambda _line: None)
                stack.workspace.remove_stack("dev", force=True)
