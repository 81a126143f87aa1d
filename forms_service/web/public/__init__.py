"""The customers' pages: the online form behind a signed link."""
