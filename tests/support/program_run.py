"""`python tests/support/program_run.py PROJECT STACK OP`: one engine operation on a project folder's own
program, inline, in a fresh interpreter, printing its result as one JSON line.

A fresh interpreter, so that the program imports the `components` of PROJECT (sys.path[0]) and nothing
this test process already imported: the upgrade tests run the program as it was at an older commit, then
the program of today, against the same stack. The environment (backend, passphrase, PATH) is the caller's.
An `up` reports its own wall time (`seconds`, the `up` call alone), which tests/benchmarks/bench_up.py compares.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
import time
from pathlib import Path

from pulumi import automation as auto


def main(project: Path, stack_name: str, operation: str) -> None:
    sys.path.insert(0, str(project))
    program = lambda: runpy.run_path(str(project / "__main__.py"), run_name="__main__")  # noqa: E731
    options = auto.LocalWorkspaceOptions(work_dir=str(project))
    name = re.search(r"^name:\s*(\S+)", (project / "Pulumi.yaml").read_text(), re.MULTILINE)
    project_name = name.group(1) if name else "stitch-heroku"
    stack = auto.create_or_select_stack(stack_name, project_name=project_name, program=program, opts=options)
    if operation == "init":
        result = {}
    elif operation == "preview":
        preview = stack.preview(color="never", diff=True, on_output=lambda line: print(line, file=sys.stderr))
        result = {"changes": preview.change_summary}
    elif operation == "up":
        started = time.perf_counter()
        up = stack.up(color="never", on_output=lambda line: print(line, file=sys.stderr))
        seconds = time.perf_counter() - started
        result = {"changes": up.summary.resource_changes, "result": up.summary.result, "outputs": sorted(up.outputs), "seconds": seconds}
    elif operation == "refresh":
        refresh = stack.refresh(color="never", on_output=lambda line: print(line, file=sys.stderr))
        result = {"changes": refresh.summary.resource_changes}
    elif operation == "destroy":
        stack.destroy(color="never", on_output=lambda line: print(line, file=sys.stderr))
        result = {}
    else:
        raise SystemExit(f"unknown operation {operation}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
