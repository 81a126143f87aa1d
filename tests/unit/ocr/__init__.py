"""Unit tests of the ocr package."""
