"""Donations: the public donate form, Stripe Checkout hand-off, thank-you and cancel pages."""
