"""A customer's page for clerks on the phone: consents, their history, the contact history.

Customers are found by a search posted with the CSRF token (a document's reference, or a
customer number in a source); the page's address carries a sealed reference, never the
number. Recording a consent change needs a deciding role and is an audit event.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from forms_service.accounts.service import Role
from forms_service.consent.customers import Customer
from forms_service.consent.interfaces import ConsentState
from forms_service.core.errors import FormsError, InvalidInput
from forms_service.core.i18n import N_
from forms_service.issuing.tokens import normalise_reference
from forms_service.web.backoffice.auth import role_required, signed_in
from forms_service.web.backoffice.forms import CustomerSearchForm, PhoneConsentForm
from forms_service.web.backoffice.views import blueprint, reason_of
from forms_service.web.context import locale, runtime
from forms_service.web.formatting import office_zone

#: Who answers the phone: clerks and supervisors (administrators too, as everywhere).
CONSENT_CLERKS = (Role.CLERK, Role.SUPERVISOR)
#: How long a customer page's address works (a sealed reference in a bookmark expires).
REFERENCE_AGE = dt.timedelta(hours=12)

PURPOSE_NAMES = {
    "commercial": lazy_gettext("Commercial"),
    "regulatory": lazy_gettext("Regulatory"),
}
CHANNEL_NAMES = {
    "email": lazy_gettext("E-mail"),
    "sms": lazy_gettext("Text message"),
    "letter": lazy_gettext("Post"),
}
STATE_NAMES = {
    "granted": lazy_gettext("Granted"),
    "withdrawn": lazy_gettext("Withdrawn"),
}
SOURCE_NAMES = {
    "form": lazy_gettext("Form answer"),
    "clerk": lazy_gettext("Clerk"),
    "api": lazy_gettext("API"),
    "import": lazy_gettext("Imported from the source"),
    "unsubscribe": lazy_gettext("Unsubscribe link"),
}


def _search_page(
    form: CustomerSearchForm, message: str = "", status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "backoffice/customers.html",
            form=form,
            sources=[f"{c}/{t}" for c, t in runtime().consent.sources()],
            message=message,
        ),
        status,
    )


@blueprint.get("/customers")
@role_required(*CONSENT_CLERKS)
def customers() -> ResponseReturnValue:
    """The search form."""
    return _search_page(CustomerSearchForm())


@blueprint.post("/customers")
@role_required(*CONSENT_CLERKS)
def find_customer() -> ResponseReturnValue:
    """Find the customer and go to their page (the address holds a sealed reference)."""
    form = CustomerSearchForm()
    if not form.validate():
        return _search_page(form, gettext("Type a reference or a customer number."), 422)
    reference = (form.reference.data or "").strip()
    try:
        customer = runtime().consent.find(
            reference=normalise_reference(reference) if reference else None,
            source=form.source.data,
            key=form.key.data or "",
        )
    except FormsError as error:
        return _search_page(form, reason_of(error), error.status)
    sealed = runtime().customer_references.seal(customer)
    return redirect(url_for("backoffice.customer", reference=sealed), code=303)


def _customer(reference: str) -> Customer:
    if len(reference) > 512:
        abort(404)
    return runtime().customer_references.open(reference, max_age=REFERENCE_AGE)


@blueprint.get("/customers/<reference>")
@role_required(*CONSENT_CLERKS)
def customer(reference: str) -> ResponseReturnValue:
    """The customer's consents, consent history and contact history."""
    found = _customer(reference)
    return _customer_page(reference, found, PhoneConsentForm())


def _customer_page(
    reference: str, found: Customer, form: PhoneConsentForm, status: int = 200
) -> ResponseReturnValue:
    file = runtime().consent.customer_file(found)
    definitions = runtime().definitions
    return (
        render_template(
            "backoffice/customer.html",
            reference=reference,
            file=file,
            form=form,
            titles={d: definitions[d].title_in(locale()) for d in definitions},
            purposes=PURPOSE_NAMES,
            channels=CHANNEL_NAMES,
            states=STATE_NAMES,
            sources=SOURCE_NAMES,
        ),
        status,
    )


@blueprint.post("/customers/<reference>/consents")
@role_required(*CONSENT_CLERKS)
def record_consent(reference: str) -> ResponseReturnValue:
    """Record a consent change the customer asked for on the phone (an audit event)."""
    found = _customer(reference)
    form = PhoneConsentForm()
    if not form.validate():
        flash(
            gettext("Choose the purpose, the channel and the answer, and give the wording."),
            "warning",
        )
        return _customer_page(reference, found, form, 422)
    try:
        at = _call_time(form.at.data)
        runtime().consent.record_by_clerk(
            found,
            purpose=str(form.purpose.data),
            channel=str(form.channel.data),
            state=ConsentState(form.state.data),
            at=at,
            actor=signed_in().username,
            wording=form.wording.data or "",
            locale=locale(),
        )
    except FormsError as error:
        flash(reason_of(error), "warning")
        return _customer_page(reference, found, form, error.status)
    flash(gettext("The consent change is recorded."), "notice")
    return redirect(url_for("backoffice.customer", reference=reference), code=303)


def _call_time(text: str | None) -> dt.datetime:
    """The call's time typed in the office's zone (datetime-local), else now."""
    if not text:
        return runtime().clock()
    try:
        typed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(N_("The time of the call is not a date and time."), field="at") from None
    if typed.tzinfo is None:
        typed = typed.replace(tzinfo=office_zone())
    return typed.astimezone(dt.UTC)
