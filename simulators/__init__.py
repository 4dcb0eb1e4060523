"""Stand-ins for the payment services we talk to, run on loopback for the demo and the tests.

Programs of their own, not part of the payments domain: `simulators.stripe` speaks Stripe's
HTTP API with hosted checkout pages and signed webhooks (`flask stripe simulator`).
"""
