"""The thin web layer: one blueprint per audience."""
