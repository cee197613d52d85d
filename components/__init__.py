"""Building blocks of the stitch-heroku Pulumi program.

Deliberately empty: `python -m components.verify` must not pay for importing Pulumi.
"""
