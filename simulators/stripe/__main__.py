"""``python -m simulators.stripe``: run the simulator in the foreground."""

from .server import main

main()
