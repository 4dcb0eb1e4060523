"""The gift amounts the donation form offers as one-click choices (major units)."""

PRESET_AMOUNTS_MAJOR = (5, 10, 25, 50, 100)
