"""The channel providers: SMTP and a file sink for e-mail, Kannel and a file sink for SMS.

Each provider implements `EmailProvider` or `SmsProvider` (delivery/interfaces.py); the
settings choose one (`EMAIL_PROVIDER`, `SMS_PROVIDER`) through `build_email_provider` and
`build_sms_provider`, which the composition root (runtime/) calls. A new gateway is one more
module here and one more choice in those two functions (docs/extending.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forms_service.delivery.interfaces import EmailProvider, SmsProvider

if TYPE_CHECKING:
    from forms_service.config import Settings


def build_email_provider(settings: Settings) -> EmailProvider:
    """The e-mail provider the settings name (`EMAIL_PROVIDER`)."""
    if settings.email_provider == "file":
        from forms_service.delivery.providers.filesink import EmailFileSink

        return EmailFileSink(settings)
    from forms_service.delivery.providers.smtp import SmtpProvider

    return SmtpProvider(settings)


def build_sms_provider(settings: Settings) -> SmsProvider:
    """The SMS provider the settings name (`SMS_PROVIDER`)."""
    if settings.sms_provider == "kannel":
        from forms_service.delivery.providers.kannel import KannelProvider

        return KannelProvider(settings)
    from forms_service.delivery.providers.filesink import SmsFileSink

    return SmsFileSink(settings)
