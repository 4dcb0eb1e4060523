"""Staff dashboard: sign-in with a second factor, figures, donations, supporters, actions."""
