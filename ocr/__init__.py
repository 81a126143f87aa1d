"""Scanned page + template geometry -> field readings. Knows nothing of Flask or databases."""
