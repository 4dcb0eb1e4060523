"""PayPal: Instant Payment Notifications, the activity CSV import and the stand-in's CLI."""
