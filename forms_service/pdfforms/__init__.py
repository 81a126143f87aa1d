"""Reading AcroForm PDFs safely: limits, the object tree, the fields and their values.

A leaf package: it imports nothing of forms_service but core, so that both issuing (prefilled
copies of an organisation's own form) and intake (the returned copies) can use it.
"""
