"""The package as users get it: `pip install` of this repository into a virtualenv of their own, then the
Destination from a Python program (inline, through the Automation API) and from a Pulumi YAML program (the real
YAML language host, which runs the console script pulumi-resource-stitch-heroku as the component's plugin).

Each runs on the real engine: `source: url` on a real PostgreSQL and `source: heroku` on the Heroku double:
up, a preview that changes nothing, `stitch-heroku verify` and `stitch-heroku reconcile` (in-sync), destroy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pulumi import automation as auto
from stitch_heroku.destination import OUTPUTS, DestinationArgs

from devtools.local_postgres import StitchDatabase, provision_stitch_database
from devtools.pulumi_toolchain import pinned_versions
from tests.support.real_engine import ROOT, configure_by_cli, engine_env, toolchain_bin

RUNNER = Path(__file__).parent / "support" / "program_run.py"
DELAYS = '{"postAppCreateDelay":0,"postSpaceCreateDelay":0,"postDomainCreateDelay":0}'


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv of the user's own with `pip install <this repository>` (not editable), as the README says."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = venv.parent / "constraints.txt"  # the versions this repository tests with, so pip resolves nothing new
    pins.write_text("".join(f"{name}=={version}\n" for name, version in pinned_versions().items()))
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-c", str(pins), str(ROOT)], check=True, capture_output=True, timeout=900)
    return venv


def test_pip_install_gives_the_package_the_plugin_and_the_commands_and_nothing_generic(user_venv):
    python = str(user_venv / "bin" / "python")
    found = subprocess.run([python, "-c", "import stitch_heroku, stitch_heroku.ops.reconcile; print(stitch_heroku.__file__)"],
                           capture_output=True, text=True, check=True, cwd=user_venv.parent)  # fmt: skip
    assert "site-packages/stitch_heroku/" in found.stdout
    for generic in ("components", "ops"):
        done = subprocess.run([python, "-c", f"import {generic}"], capture_output=True, text=True, check=False, cwd=user_venv.parent)
        assert done.returncode != 0, f"pip install put a top-level {generic!r} package into site-packages"
    for script in ("pulumi-resource-stitch-heroku", "stitch-heroku"):
        assert os.access(user_venv / "bin" / script, os.X_OK), f"{script} is not on the venv's PATH"
    usage = subprocess.run([str(user_venv / "bin" / "stitch-heroku"), "verify", "--help"], capture_output=True, text=True, check=True)
    assert "--stack" in usage.stdout


def test_get_schema_prints_the_component_with_every_input_and_output_and_their_descriptions(user_venv, toolchain, tmp_path):
    env = {**os.environ, "PULUMI_HOME": str(tmp_path / "home"), "PATH": f"{user_venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    plugin = str(user_venv / "bin" / "pulumi-resource-stitch-heroku")
    command = [str(toolchain / "pulumi"), "package", "get-schema", plugin]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True, cwd=tmp_path)  # outside any project
    schema = json.loads(done.stdout)
    destination = schema["resources"]["stitch-heroku:index:Destination"]
    assert schema["name"] == "stitch-heroku" and destination["description"]
    inputs = destination["inputProperties"]
    assert set(inputs) == {camel(key) for key in DestinationArgs.__annotations__}
    assert all(prop.get("description") for prop in inputs.values()), "an input has no description"
    assert inputs["source"].get("plain") is True, "a setting that decides the graph's shape is plain"
    assert "plain" not in inputs["databaseUrl"] and "plain" not in inputs["stitchAccessToken"], "URLs and secrets are Inputs"
    assert set(destination["properties"]) == {camel(key) for key in OUTPUTS}
    assert all(prop.get("description") for prop in destination["properties"].values())
    assert destination["properties"]["port"]["type"] == "integer"


# -- the consumers ---------------------------------------------------------------------------------

PYTHON_PROGRAM = """\
    import pulumi
    from stitch_heroku import Destination, DestinationArgs

    config = pulumi.Config()
    source = config.get("source") or "heroku"
    args = DestinationArgs(source=source, verify_timeout=20)
    if source == "url":
        args.update(database_url=config.require_secret("databaseUrl"), stitch_role_name=config.require("roleName"))
    else:
        args.update(app_name=config.require("appName"), heroku_api_key=config.require_secret("herokuKey"))
    warehouse = Destination("warehouse", args)
    pulumi.export("verification", warehouse.verification)  # the day-two commands read the rest from the state
"""

YAML_PROGRAM = """\
    name: acme-warehouse-yaml
    runtime: yaml
    config:
      source: {{type: string}}
      {inputs_config}
    resources:
      warehouse:
        type: stitch-heroku:index:Destination
        properties:
          source: ${{source}}
          verifyTimeout: 20
          {inputs}
    outputs:
      host: ${{warehouse.host}}
      port: ${{warehouse.port}}
      username: ${{warehouse.username}}
      password: ${{warehouse.password}}
      database: ${{warehouse.database}}
      verification: ${{warehouse.verification}}
"""


class Consumer:
    """A user's project folder, its one stack on a private file backend, their venv's package and plugin."""

    def __init__(self, base: Path, venv: Path, *, language: str, stack: str = "dev"):
        self.dir, self.venv, self.language, self.stack = base / "app", venv, language, stack
        self.dir.mkdir(parents=True)
        (base / "state").mkdir()
        self.bin = toolchain_bin()
        # The user's venv first on PATH (its plugin and python3), and PULUMI_RUNTIME_VIRTUALENV as docs/component.md
        # says: the dynamic providers run in the Python that has the package.
        self.env = {**os.environ, **engine_env(self.bin, base, {"PULUMI_RUNTIME_VIRTUALENV": str(venv)}, (venv / "bin",))}

    def write(self, source: str) -> None:
        if self.language == "python":
            (self.dir / "Pulumi.yaml").write_text("name: acme-warehouse\nruntime: python\n")
            (self.dir / "__main__.py").write_text(textwrap.dedent(PYTHON_PROGRAM))
        else:
            if source == "url":
                inputs = "databaseUrl: ${databaseUrl}\n      stitchRoleName: ${roleName}"  # as indented after the dedent
                config = "databaseUrl: {type: string, secret: true}\n  roleName: {type: string}"
            else:
                inputs = "appName: ${appName}\n      herokuApiKey: ${herokuKey}"  # as indented after the dedent
                config = "appName: {type: string}\n  herokuKey: {type: string, secret: true}"
            (self.dir / "Pulumi.yaml").write_text(textwrap.dedent(YAML_PROGRAM).format(inputs=inputs, inputs_config=config))
        self.run("init")

    def run(self, operation: str) -> dict:
        if self.language == "python":
            command = [str(self.venv / "bin" / "python"), str(RUNNER), str(self.dir), self.stack, operation]
            done = subprocess.run(command, check=False, env=self.env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{operation} failed:\n{done.stderr[-4000:]}"
            return json.loads(done.stdout.strip().splitlines()[-1])
        return self._run_yaml(operation)

    def _run_yaml(self, operation: str) -> dict:
        """The YAML program through the CLI, which runs pulumi-language-yaml from the toolchain."""
        command = auto.PulumiCommand(root=str(self.bin.parent), skip_version_check=True)
        options = auto.LocalWorkspaceOptions(work_dir=str(self.dir), env_vars=self.env, pulumi_command=command)
        stack = auto.create_or_select_stack(self.stack, work_dir=str(self.dir), opts=options)
        printed: list[str] = []
        try:
            if operation == "init":
                return {}
            if operation == "preview":
                return {"changes": stack.preview(color="never", on_output=printed.append).change_summary}
            if operation == "up":
                up = stack.up(color="never", on_output=printed.append)
                return {"result": up.summary.result, "outputs": sorted(up.outputs)}
            stack.destroy(color="never", on_output=printed.append)
            return {}
        except auto.CommandError as error:
            raise AssertionError(f"{operation} failed: {error}\n" + "\n".join(printed[-60:])) from None

    def configure(self, values: dict[str, str], secrets: dict[str, str]) -> None:
        configure_by_cli(self.bin / "pulumi", self.stack, self.dir, self.env, values, secrets)

    def day_two(self, command: str) -> dict:
        """`stitch-heroku verify|reconcile --stack S --json`, in the project folder, as a person or a schedule runs it."""
        argv = [str(self.venv / "bin" / "stitch-heroku"), command, "--stack", self.stack, "--json"]
        done = subprocess.run(argv, cwd=self.dir, env=self.env, capture_output=True, text=True, check=False, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        return json.loads(done.stdout)


def url_database(ssl_server, name: str) -> StitchDatabase:
    db = provision_stitch_database(ssl_server.cluster, database=name, owner=f"{name}_owner", stitch_role=f"{name}_loader")
    with ssl_server.cluster.superuser(name) as conn:  # the owner makes Stitch's own role, as on a managed server
        conn.execute(f"ALTER ROLE {name}_owner CREATEROLE")
    return db


def lifecycle(consumer: Consumer) -> None:
    """up, a preview that changes nothing, the day-two verification and reconcile, destroy."""
    try:
        up = consumer.run("up")
        assert up["result"] == "succeeded" and "verification" in up["outputs"]
        preview = consumer.run("preview")["changes"]
        assert set(preview) <= {"same"}, f"a second run would change something: {preview}"
        assert consumer.day_two("verify")["ready"] is True
        reconciled = consumer.day_two("reconcile")
        assert reconciled["status"] == "in-sync" and reconciled["verification"]["ready"] is True, reconciled
    finally:
        consumer.run("destroy")


@pytest.mark.parametrize("language", ["python", "yaml"])
def test_a_program_of_the_users_own_makes_a_verified_destination_on_a_url(language, user_venv, toolchain, tmp_path, ssl_server):
    db = url_database(ssl_server, f"consumer_{language}")
    consumer = Consumer(tmp_path, user_venv, language=language)
    consumer.write("url")
    project = "acme-warehouse" if language == "python" else "acme-warehouse-yaml"
    # Stitch's role is the cluster's, and destroy keeps it: one name a test.
    consumer.configure({f"{project}:source": "url", f"{project}:roleName": f"stitch_{language}"}, {f"{project}:databaseUrl": db.owner_url})
    lifecycle(consumer)


@pytest.mark.parametrize("language", ["python", "yaml"])
def test_a_program_of_the_users_own_makes_a_verified_destination_on_heroku(language, user_venv, toolchain, tmp_path, heroku):
    consumer = Consumer(tmp_path, user_venv, language=language)
    consumer.write("heroku")
    project = "acme-warehouse" if language == "python" else "acme-warehouse-yaml"
    app = f"acme-consumer-{language}"
    consumer.configure(
        {f"{project}:source": "heroku", f"{project}:appName": app, "heroku:url": heroku.url, "heroku:delays": DELAYS},
        {f"{project}:herokuKey": heroku.api_key, "heroku:apiKey": heroku.api_key},
    )
    lifecycle(consumer)
    assert not heroku.addons, "a dev stack's destroy deletes the database it made"


def test_a_dynamic_provider_python_without_the_package_is_named_with_the_fix(tmp_path):
    from stitch_heroku.dynamic_host import missing_package

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    message = missing_package({"PULUMI_RUNTIME_VIRTUALENV": str(bare), "PATH": os.environ["PATH"]}, tmp_path)
    assert message is not None and str(bare / "bin" / "python") in message
    assert "PULUMI_RUNTIME_VIRTUALENV" in message and "activate" in message
    assert missing_package({"PULUMI_RUNTIME_VIRTUALENV": sys.prefix, "PATH": os.environ["PATH"]}, tmp_path) is None
    nowhere = missing_package({"PATH": str(tmp_path / "empty")}, tmp_path)
    assert nowhere is not None and "python3 not on PATH" in nowhere


def test_the_day_two_commands_read_the_project_and_its_runtime_from_pulumi_yaml(tmp_path):
    from stitch_heroku.ops.destination_state import project_of

    assert project_of(ROOT) == ("stitch-heroku", "python")
    (tmp_path / "Pulumi.yaml").write_text("name: acme-warehouse-yaml\nruntime: yaml\n")
    assert project_of(tmp_path) == ("acme-warehouse-yaml", "yaml")


def test_the_repository_folder_run_as_a_plugin_serves_the_component(tmp_path):
    """What the Python language host's RunPlugin does for `pulumi package add <repo url>` (PulumiPlugin.yaml):
    `python <folder> <engine address>`; with no engine running it as a program, __main__.py serves the schema."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    plugin = subprocess.Popen([sys.executable, str(ROOT), "127.0.0.1:9"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        port = int(plugin.stdout.readline())  # a provider prints its port first, as the engine expects
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            schema = json.loads(provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(provider_pb2.GetSchemaRequest()).schema)
        assert "stitch-heroku:index:Destination" in schema["resources"]
    finally:
        plugin.kill()
        plugin.wait()
