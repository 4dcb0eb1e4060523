"""The benchmark cases, each runnable alone: `python -m bench <case>`."""

from bench.cases import dashboard, landing, storm, webhooks

CASES = {
    "landing": landing.run_direct,
    "nginx": landing.run_nginx,
    "webhooks": webhooks.run,
    "storm": storm.run,
    "dashboard": dashboard.run,
}
