"""The answer channels, each ending in one stored Submission."""
