"""`stitch-heroku reconcile --stack S` and `stitch-heroku verify --stack S`: the day-two commands, installed with
the package (the console script `stitch-heroku`), the same as `python -m ops.reconcile` and
`python -m components.verify` in this repository's folder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: stitch-heroku {reconcile,verify} [options]  (each takes --help)"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command, rest = (args[0], args[1:]) if args else (None, [])
    if command == "reconcile":
        from . import reconcile

        return reconcile.main(rest)
    if command == "verify":
        from stitch_heroku import verify

        return verify.main(rest)
    print(USAGE, file=sys.stderr)
    return 0 if command in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
