"""The stitch-heroku guardrails policy pack: run with `pulumi preview --policy-pack policies`.

The Python language host runs this file in the pack's virtualenv; PolicyPack then serves the policies
to the engine over gRPC until the engine stops it. Every enforcement level can be changed through
policy config (`--policy-pack-config`, or the policy group in Pulumi Cloud).
"""

from guardrails import PACK_NAME, POLICIES, secret_marks
from pulumi_policy import PolicyPack

# Before any request: lets the stack-output policy tell secret outputs from plain ones.
secret_marks.install()

PolicyPack(name=PACK_NAME, policies=POLICIES)
