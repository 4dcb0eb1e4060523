"""Supporter accounts: registration, sign-in, giving history and self-service pledges."""
