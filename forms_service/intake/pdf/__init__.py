"""The fillable-PDF channel: read returned AcroForm PDFs and turn them into submissions."""
