"""OCR engines behind ocr.interfaces.OcrEngine: one module wraps each external engine."""
