"""What the customer's receipt says: the changes, when and how they were sent, what happens next.

The confirmation page and the PDF receipt say the same, from the same functions. What
happens next is read from the answer's change set: lines a clerk must check (an adviser
checks them within `REVIEW_WORKING_DAYS` working days), lines applied without one, or an
answer already applied or declined.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext

from forms_service.core.errors import NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.intake.online.model import changes_of
from forms_service.issuing.receipt import Receipt, ReceiptRow, render_receipt
from forms_service.storage.model import ChangeSetStatus, Document, Submission
from forms_service.web.context import runtime
from forms_service.web.formatting import format_datetime, office_zone

_APPLIED = (ChangeSetStatus.APPLIED, ChangeSetStatus.PARTIALLY_APPLIED)


def receipt_rows(
    definition: FormDefinition, submission: Submission, lang: str
) -> list[dict[str, str]]:
    """The changes the answer asks for, as the customer reads them (bank details masked)."""
    return [
        {
            "label": definition.field(c.field).label_in(lang),
            "before": definition.field(c.field).customer_display(c.before, lang),
            "after": definition.field(c.field).customer_display(c.after, lang),
        }
        for c in changes_of(definition, submission)
    ]


def next_steps(submission: Submission, lang: str) -> list[str]:
    """What happens to the answer now, and how long it takes."""
    try:
        view = runtime().changes.change_set_of_submission(submission.id, locale=lang)
    except NotFound:
        return [gettext("Your answer is being processed. You do not need to do anything.")]
    if view.status in _APPLIED:
        closed = format_datetime(view.closed_at or view.created_at, lang, office_zone())
        return [gettext("Your details were updated on %(date)s.", date=closed)]
    if view.status is ChangeSetStatus.REJECTED:
        return [
            gettext(
                "An adviser checked your answer and could not apply it. We will contact you "
                "if we need anything from you."
            )
        ]
    if view.status is ChangeSetStatus.NO_CHANGE:
        return [gettext("Nothing needs to be done: your details are up to date.")]
    waiting = sum(1 for row in view.rows if row.waiting)
    automatic = sum(1 for row in view.rows if not row.waiting)
    steps = []
    if waiting:
        days = runtime().settings.review_working_days
        steps.append(
            ngettext(
                "An adviser will check your change within %(days)s working days.",
                "An adviser will check your %(num)s changes within %(days)s working days.",
                waiting,
                days=days,
            )
        )
    if automatic:
        steps.append(
            ngettext(
                "One change is applied without waiting for an adviser.",
                "%(num)s changes are applied without waiting for an adviser.",
                automatic,
            )
        )
    steps.append(
        gettext(
            "You do not need to do anything else. If something is wrong, contact us: our "
            "details are below."
        )
    )
    return steps


def receipt_of(
    document: Document, definition: FormDefinition, submission: Submission, lang: str
) -> bytes:
    """The receipt as a PDF, with the confirmation page's words."""
    organisation = runtime().organisation
    received = format_datetime(submission.received_at, lang, office_zone())
    contact = [organisation.phone, organisation.email, organisation.hours_in(lang)]
    receipt = Receipt(
        organisation=organisation.name_in(lang),
        title=gettext("Receipt of your answer"),
        form_title=definition.title_in(lang),
        facts=(
            (gettext("Reference:"), document.reference),
            (gettext("Received on:"), received),
            (gettext("Answered:"), _channel(submission.channel)),
        ),
        columns=(gettext("Detail"), gettext("Before"), gettext("After")),
        rows=[
            ReceiptRow(
                row["label"],
                row["before"] or gettext("(empty)"),
                row["after"] or gettext("(empty)"),
            )
            for row in receipt_rows(definition, submission, lang)
        ],
        no_change=gettext("You confirmed that your details are up to date: nothing changes."),
        next_steps=next_steps(submission, lang),
        footer=" · ".join([organisation.name_in(lang), *(part for part in contact if part)]),
    )
    return render_receipt(receipt)


def _channel(channel: str) -> str:
    names = {"online": gettext("online"), "pdf": gettext("by returning the PDF form")}
    return str(names.get(channel, gettext("by post")))
