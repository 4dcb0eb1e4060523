"""Payments: the only package that talks to Stripe (gateway out, webhooks in, event handlers)."""
