"""forms_service: documents out, answers back, source systems kept right."""

from __future__ import annotations

__version__ = "0.1.0"
