"""Tests of the Stripe simulator (fundraiser.payments.simulator)."""
