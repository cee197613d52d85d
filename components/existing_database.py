"""A database that already exists: looked up on a Heroku app, or given as a URL.

Nothing here creates, changes or deletes anything; both sources only hand back a secret URL.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumiverse_heroku.app import get_app_output


def heroku_app_database_url(app_name: str, config_var: str) -> pulumi.Output[str]:
    """The URL in an existing app's config var, through the Heroku provider's app lookup.

    The lookup returns config vars unmarked, so the URL is made secret here.
    """
    app = get_app_output(name=app_name)
    return pulumi.Output.secret(app.config_vars.apply(lambda config_vars: config_var_value(app_name, config_var, config_vars)))


def config_var_value(app_name: str, config_var: str, config_vars: Mapping[str, str] | None) -> str:
    value = (config_vars or {}).get(config_var)
    if value:
        return value
    urls = sorted(name for name in (config_vars or {}) if name.endswith("_URL"))
    raise ValueError(
        f"Heroku app {app_name!r} has no config var {config_var}"
        + (
            f"; its URL config vars are {', '.join(urls)}: set database_config_var to one of them"
            if urls
            else ": attach a Heroku Postgres database to it, or check app_name"
        )
    )
