"""What every layer may use and which uses nothing of the service: errors, the clock, logs, files."""
