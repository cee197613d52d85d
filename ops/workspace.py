"""A stack of this Pulumi project, opened through the Automation API with the CLI at hand.

Where the CLI has the Python language host, it runs `__main__.py` as `pulumi up` does. Where it has none
(the toolchain this project builds from the Go module proxy: the proxy does not serve the host), the
Automation API's inline mode runs the same `__main__.py` in this process, which then serves as the
language runtime; the engine, providers and state are the real ones either way. Shared by
`ops.reconcile`, `devtools.try_local` and the real-engine tests, so all three run the program alike.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

PROJECT = "stitch-heroku"
LANGUAGE_HOST = "pulumi-language-python"


def has_language_host(bin_dir: Path) -> bool:
    """Whether the CLI in bin_dir can run a Python program itself: an installed CLI has the host beside it."""
    return (bin_dir / LANGUAGE_HOST).exists()


SHOWN_ABOVE = "the program stopped before any change: see the error above"
"""What an inline run hands the engine for a RunError whose message the program has shown already."""


def inline_program(project: Path) -> Callable[[], None]:
    """The project's own __main__.py, run in this process as the Automation API's inline program.

    A pulumi.RunError (the config's problems, all at once) is shown once. The Automation API's inline runner both
    logs a RunError's message and returns it as the run's error, which the engine prints again as "an unhandled
    error occurred: ..." (pulumi SDK 3.272, pulumi/automation/_server.py LanguageServer.Run, `except RunError`);
    the CLI's language host only logs it (pulumi-language-python-exec). So the message is logged here, on the
    stack, and the runner gets a one-line pointer to it: still a RunError, so the run fails before any change."""
    main_file = project / "__main__.py"

    def program() -> None:
        try:
            runpy.run_path(str(main_file), run_name="__main__")
        except pulumi.RunError as error:
            pulumi.log.error(str(error))
            raise pulumi.RunError(SHOWN_ABOVE) from None

    return program


def open_stack(
    name: str, project: Path, options: auto.LocalWorkspaceOptions, *, inline: bool, create: bool = True, project_name: str = PROJECT
) -> auto.Stack:
    """The stack `name` of the project in `project`; inline: run __main__.py in this process.

    create=False only selects: a stack that does not exist raises auto.StackNotFoundError, so a day-two
    command never creates a stack by a typo."""
    if inline:
        program = inline_program(project)
        if create:
            return auto.create_or_select_stack(name, project_name=project_name, program=program, opts=options)
        return auto.select_stack(name, project_name=project_name, program=program, opts=options)
    if create:
        return auto.create_or_select_stack(name, work_dir=str(project), opts=options)
    return auto.select_stack(name, work_dir=str(project), opts=options)


def up_without_readback(stack: auto.Stack, **options: Any) -> None:
    """`stack.up(**options)` for a caller that reads the state itself afterwards.

    The SDK's up reads the stack's outputs back twice (plain, then with secrets) and its last history entry once
    (pulumi/automation/_stack.py `up`): three more CLI processes that each load and decrypt the state, about a second
    of a no-change reconcile's five, paid again for every stack of a fleet. No result is returned: it would hold
    neither the outputs nor the summary."""
    stack.outputs = lambda: {}  # type: ignore[method-assign]
    stack.info = lambda *_args, **_kwargs: auto.UpdateSummary("update", datetime.now(), "", {}, {}, "succeeded")  # type: ignore[method-assign]
    try:
        stack.up(**options)
    finally:
        del stack.outputs, stack.info
