"""The paper channel: scanned batches, their pages, the exception queue and OCR corrections."""
