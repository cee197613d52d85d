"""The reconcile's engine run skips what the SDK reads back after `up` (ops/workspace.py up_without_readback): the
Automation API's own `Stack.up`, run with its CLI calls recorded instead of made, reads the outputs and the last
history entry after the engine (three CLI processes that each load and decrypt the state); ours does not, and the
stack answers `outputs()` as before once the run is over."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from pulumi import automation as auto
from stitch_heroku.ops import workspace


class RecordingStack(auto.Stack):
    """The SDK's Stack with no CLI behind it: each CLI call is recorded by what it asks."""

    def __init__(self) -> None:  # the SDK's __init__ would select the stack through the CLI
        self.name = "dev"
        self.workspace = SimpleNamespace(program=None, pulumi_version="3.274.0")
        self.calls: list[str] = []

    def _run_pulumi_cmd_sync(self, args: list[str], on_output: Any = None, on_error: Any = None) -> Any:
        self.calls.append(args[0])
        return SimpleNamespace(stdout="", stderr="")

    def outputs(self) -> auto.OutputMap:
        self.calls.append("stack output")
        return {}

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary:
        self.calls.append("stack history")
        return auto.UpdateSummary("update", datetime.now(), "", {}, {}, "succeeded")


def test_the_sdks_up_reads_outputs_and_history_back_and_ours_runs_only_the_engine():
    stack = RecordingStack()
    stack.up(color="never")
    assert stack.calls == ["up", "stack output", "stack history"], "the SDK's up no longer reads back: the skip has no point"

    stack.calls.clear()
    workspace.up_without_readback(stack, color="never", refresh=True, run_program=True)
    assert stack.calls == ["up"], stack.calls
    stack.outputs()
    assert stack.calls == ["up", "stack output"], "outputs() answers as before after the run"
