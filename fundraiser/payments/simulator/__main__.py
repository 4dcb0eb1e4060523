"""``python -m fundraiser.payments.simulator``: run the simulator in the foreground."""

from .server import main

main()
