"""The stitch-heroku guardrails policy pack; a package only so the tests can import `policies.guardrails`."""
