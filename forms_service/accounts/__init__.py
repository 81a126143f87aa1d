"""Back-office users, their roles, and integration tokens."""
