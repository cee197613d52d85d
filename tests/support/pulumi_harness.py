"""Run the real Pulumi program under Pulumi's own mocks and record everything it registers.

The mocks answer like the Heroku and PostgreSQL providers do: the add-on returns `configVars`
and `configVarValues`, the app lookup returns `configVars`. A recording monitor keeps each
RegisterResource request, so tests see options (protect, retain_on_delete, provider,
dependencies) that the mocks' own API does not show.
"""

from __future__ import annotations

import asyncio
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await
from stitch_heroku import heroku_credential

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "stitch-heroku"

ADDON_URL = "postgres://u9abc:p%40ss%2Fw0rd%3A%25@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
"""What Heroku hands back: a password with characters that must be percent-encoded."""
ADDON_PASSWORD = "p@ss/w0rd:%"
STITCH_URL = "postgres://stitch_5e1f:st1tch%2Fpw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d7xyz"
"""What Heroku writes into STITCH_DATABASE_URL once the `stitch` credential is attached (stitch_credential dedicated)."""
STITCH_PASSWORD = "st1tch/pw"
STITCH_ROLE_PASSWORD = "Mock0Generated0Password0Of0Forty0Chars00"
"""What the StitchPassword provider would make (40 letters and digits)."""


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    provider: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    additional_secret_outputs: list[str]
    secret_inputs: set[str]


class StitchMocks(pulumi.runtime.Mocks):
    """Answers as the providers would, for the types this program uses."""

    def __init__(
        self,
        config_var: str = "DATABASE_URL",
        url: str = ADDON_URL,
        app_config_vars: dict[str, str] | None = None,
        addon_config_vars: list[str] | None = None,
        existing_plan: str = "essential-0",
    ):
        self.config_var = config_var
        self.url = url
        self.addon_config_vars = addon_config_vars if addon_config_vars is not None else [config_var]
        self.app_config_vars = app_config_vars if app_config_vars is not None else {config_var: url, "STITCH_DATABASE_URL": STITCH_URL}
        self.existing_plan = existing_plan
        """heroku-existing: the plan of the add-on behind the app's database, as the Platform API reports it."""
        self.calls: list[pulumi.runtime.MockCallArgs] = []
        self.lookups: list[tuple[str, str]] = []

    def find_database_addon(self, _http: Any, app_name: str, config_var: str) -> Any:
        """Stands in for components.heroku_credential.find_database_addon (its real calls are tested against
        tests/doubles/fake_heroku.py): the add-on behind the app's var, on existing_plan."""
        from stitch_heroku.heroku_credential import DatabaseAddon

        self.lookups.append((app_name, config_var))
        return DatabaseAddon("0c1d2e3f-addon", "postgresql-existing-1", "existing-app-id", self.existing_plan)
        self.app_name: str | None = None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "heroku:app/app:App":
            self.app_name = args.inputs["name"]
            outputs |= {"uuid": "0b9f0c2e-app", "herokuHostname": f"{args.inputs['name']}.herokuapp.com"}
            return "0b9f0c2e-app", outputs
        if args.typ == "heroku:addon/addon:Addon":
            outputs |= {
                "name": "postgresql-curved-12345",
                "configVars": self.addon_config_vars,
                # What the state holds from the last read: tests give the app newer values than this.
                "configVarValues": {name: self.url for name in self.addon_config_vars},
                "providerId": "resource-abc",
            }
            return "addon-id", outputs
        if args.typ == "pulumi-python:dynamic/stitch:HerokuCredential":
            # As the provider answers once the credential is active (its role, as in STITCH_URL); runs for real in
            # tests/test_heroku_credential.py.
            outputs |= {"user": "stitch_5e1f", "state": "active"}
        if args.typ == "pulumi-python:dynamic/stitch:StitchPassword":
            # As the provider answers; it runs for real in tests/test_stitch_role.py.
            outputs["password"] = STITCH_ROLE_PASSWORD
        if args.typ == "pulumi-python:dynamic/stitch:StitchHandover":
            outputs["schemas"] = []
        if args.typ == "pulumi-python:dynamic/stitch:Verification":
            outputs["report"] = {"ready": True, "target": "mocked: runs for real in tests/test_verification_resource.py"}
        if args.typ == "pulumi-python:dynamic/stitch:Destination":
            # As the provider answers; it runs for real in tests/test_stitch_destination.py.
            outputs |= {
                "destination_id": "110397",
                "connection_check": "succeeded",
                "report_card_step": "fully_configured",
                "stitch_status": "active",
            }
            return "110397", outputs
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args)
        if args.token == "heroku:app/getApp:getApp":
            # GET /apps/{app_id_or_name}: the created app answers to its id too, with its name.
            ref = args.args["name"]
            app_id, name = ("0b9f0c2e-app", self.app_name) if ref == "0b9f0c2e-app" else ("existing-app-id", ref)
            return {"id": app_id, "name": name, "configVars": self.app_config_vars, "region": "us"}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=rpc.deserialize_properties_unwrap_secrets(request.object)[0],
                    parent=request.parent,
                    provider=request.provider,
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    dependencies=list(request.dependencies),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    secret_inputs=secret_input_names(request.object),
                )
            )
        return response


def _quiet_about_unread_futures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if context.get("message") != "Future exception was never retrieved":
        loop.default_exception_handler(context)


def secret_input_names(props: Any) -> set[str]:
    """Top-level inputs that travel to the engine as secrets (and so are encrypted in state)."""
    raw = rpc.deserialize_properties(props)
    return {key for key, value in raw.items() if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig}


@dataclass
class Output:
    value: Any
    secret: bool
    known: bool


@dataclass
class ProgramRun:
    registrations: list[Registration]
    outputs: dict[str, Output] = field(default_factory=dict)
    mocks: StitchMocks | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, registered {[r.type for r in self.registrations]}"
        return found[0]


def settle(output: Any) -> Output:
    """Resolve an Output the way the engine would see it: value, secret or not, known or not."""
    output = pulumi.Output.from_input(output)

    async def resolve() -> Output:
        return Output(await output.future(), await output.is_secret(), await output.is_known())

    return _sync_await(resolve())


def stack_config(stack: str, values: dict[str, str], secret: tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """Config as Pulumi hands it to the program: project-qualified keys, secrets listed."""
    full = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in values.items()}
    keys = [k if ":" in k else f"{PROJECT}:{k}" for k in secret]
    return full, keys


def run_program(
    stack: str,
    values: dict[str, str],
    secret: tuple[str, ...] = ("heroku:apiKey",),
    mocks: StitchMocks | None = None,
    program: Path = ROOT / "__main__.py",
) -> ProgramRun:
    """Run a program (this repository's __main__.py) for one stack, as `pulumi up` would, and collect what it declared."""
    mocks = mocks or StitchMocks()
    monitor = RecordingMonitor(mocks)
    config, secret_keys = stack_config(stack, values, secret)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    error: Exception | None = None
    outputs: dict[str, Output] = {}
    lookup = heroku_credential.find_database_addon
    heroku_credential.find_database_addon = mocks.find_database_addon  # heroku-existing's one Platform API read
    try:
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.settings.get_root_resource()
        outputs = {name: settle(value) for name, value in root.outputs.items()}
    except Exception as raised:
        error = raised
    finally:
        heroku_credential.find_database_addon = lookup
    # Drain every registration, failed ones too, so nothing leaks into the next run.
    try:
        _sync_await(wait_for_rpcs())
    except Exception as raised:
        error = error or raised
    # A failed run leaves output tasks behind in the process-wide settings; drop them.
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    if error is not None:
        # The failed registration's futures are garbage-collected unread; their error is the one
        # raised here, so asyncio need not print it again at exit.
        asyncio.get_event_loop().set_exception_handler(_quiet_about_unread_futures)
        raise error
    return ProgramRun(monitor.registrations, outputs, mocks)


HEROKU_STACK = {"app_name": "acme-stitch-dev", "heroku:apiKey": "hk-test-key"}
