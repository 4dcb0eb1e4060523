"""Campaigns: the article as a landing page, campaign pages, totals and outbound links."""
