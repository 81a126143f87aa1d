"""Integration tests of the ocr package with the real Tesseract."""
