"""stitch-heroku: a Heroku Postgres database made ready, and proven ready, as a Stitch destination.

This program is the component's first user: the stack's config (validated all at once, every key of it) ->
one Destination (components/destination.py: the database, Stitch's role and CREATE, the verification, the
destination in Stitch) -> its outputs as the stack's.
"""

import pulumi
from pulumi.runtime.settings import get_monitor
from stitch_heroku import config as stack_config
from stitch_heroku.destination import OUTPUTS, Destination, args_from_stack

if get_monitor() is None:
    # Not run by an engine as a program but as the plugin of PulumiPlugin.yaml (`python <repo> <engine address>`,
    # after `pulumi package add <repo url>`): serve the component to programs in any language.
    from stitch_heroku.provider import main

    main()
    raise SystemExit(0)

try:
    # Every key of the stack is read, so keys that belong to no setting are caught too.
    stack = stack_config.stack_settings()
    cfg = stack_config.load(pulumi.get_project(), pulumi.get_stack(), stack, pulumi.runtime.is_config_secret)
except stack_config.ConfigError as error:
    raise pulumi.RunError(str(error)) from None

# The stack's keys as the component's args; before 0.2.0 its resources sat at the stack's root, and their
# aliases (components/moved.py) keep them: an existing stack's next `up` replaces nothing.
given = {key.removeprefix(f"{pulumi.get_project()}:") for key, value in stack.items() if value not in (None, "")}
destination = Destination("stitch-heroku", args_from_stack(cfg, given))

# Exactly the fields of Stitch's PostgreSQL form, then the Connect API body and the proof.
for key in OUTPUTS:
    if getattr(destination, key) is not None:
        pulumi.export(key, getattr(destination, key))
