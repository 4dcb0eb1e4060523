"""The benchmark cases, each runnable alone: `python -m bench <case>`."""

from bench.cases import card_testing, dashboard, landing, open_pages, storm, webhooks

CASES = {
    "landing": landing.run_direct,
    "nginx": landing.run_nginx,
    "webhooks": webhooks.run,
    "storm": storm.run,
    "dashboard": dashboard.run,
    "card_testing": card_testing.run,
    "open-pages": open_pages.run,
}
