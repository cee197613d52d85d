"""An expected failure of a dynamic provider's step, reported to the user as its message alone, never a traceback.

Pulumi's dynamic provider host wraps every Create, Update, Delete, Check, Diff and Read in `_abort_with_traceback`
(pulumi SDK 3.272, pulumi/dynamic/__main__.py lines 81-87): whatever the provider raises, it answers the engine with
`context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())`, so a failed verification reached the user as
"Traceback (most recent call last): ... VerificationFailed: <checklist>". The engine prints the gRPC status's
details as the step's error. So for a failure we expect (a checklist that says NOT READY, a guard's refusal) the
provider host's abort is given the message instead of the traceback: the call's grpc ServicerContext is the
`context` argument of that wrapper, a few frames up this thread's stack (the provider runs in the handler's
thread); its `abort` is wrapped for this call only, so the wrapper's own abort sends our message. Anything
unexpected keeps its traceback. Outside the provider host (Pulumi's mocks, plain calls) nothing changes.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import grpc


def _servicer_context() -> grpc.ServicerContext | None:
    """The gRPC context of the provider call this thread is serving, if any."""
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("context")
        if isinstance(candidate, grpc.ServicerContext):
            return candidate
        frame = frame.f_back
    return None


def fail_with(error: Exception) -> NoReturn:
    """Raise `error`; in the dynamic provider host, the engine gets str(error) alone as the step's error."""
    context = _servicer_context()
    if context is not None:
        message, abort = str(error), context.abort

        def abort_with_message(code: grpc.StatusCode, _details: Any) -> NoReturn:
            abort(code, message)  # raises, as grpc's abort does
            raise AssertionError("grpc's abort returned")  # pragma: no cover

        context.abort = abort_with_message  # type: ignore[method-assign]
    raise error
