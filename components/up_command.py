"""How a fix text says "run `pulumi up`": with the command that does the same up where the CLI has no Python
language host (the toolchain built from the Go module proxy, the try-out's shell), where `pulumi up` itself
fails with "no language plugin 'pulumi-language-python' found"."""

from __future__ import annotations


def without_language_host(stack: str | None = None) -> str:
    """The equivalent of `pulumi up` without the language host: the reconcile, whose up (with --refresh and the
    program) runs __main__.py in its own Python (ops/reconcile.py)."""
    return f"without the Python language host: `stitch-heroku reconcile --stack {stack or '<stack>'}`"


def pulumi_up(stack: str | None = None) -> str:
    """`pulumi up` in a fix, with its equivalent for a CLI without the language host."""
    return f"`pulumi up{f' --stack {stack}' if stack else ''}` ({without_language_host(stack)})"
