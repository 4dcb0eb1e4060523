"""Patreon: member webhooks, the members API sync, the members export import, the stand-in."""
