"""Schemas of the scans API: a received batch and its per-page progress."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ScanPageSchema(Schema):
    """One page of a batch."""

    id = fields.String()
    sequence = fields.Integer()
    filename = fields.String()
    file_page = fields.Integer(metadata={"description": "0-based page index in its file"})
    status = fields.Function(lambda page: page.status.value)
    exception = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True, metadata={"description": "document reference"})
    form_id = fields.String(allow_none=True)
    form_page = fields.Integer(allow_none=True)
    submission_id = fields.String(allow_none=True)
    attempts = fields.Integer()


class ScanBatchSummarySchema(Schema):
    """A batch and its page counts per status."""

    id = fields.String()
    source = fields.String()
    name = fields.String(
        allow_none=True,
        metadata={"description": "the batch's name: given with it, else its scanner's or file's"},
    )
    name_source = fields.String(
        allow_none=True, metadata={"description": "operator, scanner_title or file_name"}
    )
    status = fields.String(metadata={"description": "processing or done"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    pages_total = fields.Integer()
    done = fields.Integer(metadata={"description": "pages whose job has run"})
    percent = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    pdf_return_id = fields.Function(
        lambda batch: batch.pdf_return.id if batch.pdf_return else None,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "the PDF return the batch reads (source pdf_return): "
            "GET /api/v1/returns/{return_id} for its status",
        },
    )


class ScanBatchSchema(ScanBatchSummarySchema):
    """A batch with every page's progress."""

    pages = fields.List(fields.Nested(ScanPageSchema))


class ScanBatchQuerySchema(Schema):
    """Paging of the batch list (newest first)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class ScanBatchDetailQuerySchema(Schema):
    """Which of a batch's pages to show, in batch order (`pages_total` counts them all)."""

    limit = fields.Integer(load_default=500, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class ScanBatchPageSchema(Schema):
    """A page of batches, without their pages (ask a batch for those)."""

    items = fields.List(fields.Nested(ScanBatchSummarySchema))
    limit = fields.Integer()
    offset = fields.Integer()
