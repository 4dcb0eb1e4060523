"""Tests of the Stripe simulator (simulators.stripe)."""
