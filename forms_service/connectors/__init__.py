"""Source systems behind one small protocol."""
