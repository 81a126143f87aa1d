"""Customer-facing messages in French (the default) and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LOCALES: Final = ("fr", "en")
DEFAULT_LOCALE: Final = "fr"

_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "required": {"fr": "Ce champ est obligatoire.", "en": "This field is required."},
    "too_long": {
        "fr": "{max} caractères au maximum.",
        "en": "At most {max} characters.",
    },
    "too_short": {
        "fr": "{min} caractères au minimum.",
        "en": "At least {min} characters.",
    },
    "pattern": {"fr": "Format incorrect.", "en": "Wrong format."},
    "email": {
        "fr": "Adresse e-mail incorrecte (exemple : nom@domaine.fr).",
        "en": "Invalid e-mail address (example: name@example.com).",
    },
    "phone": {
        "fr": "Numéro de téléphone incorrect (exemple : 06 12 34 56 78).",
        "en": "Invalid phone number (example: +33 6 12 34 56 78).",
    },
    "postcode_fr": {
        "fr": "Code postal incorrect : 5 chiffres (exemple : 75011).",
        "en": "Invalid French postcode: 5 digits (example: 75011).",
    },
    "postcode": {"fr": "Code postal incorrect.", "en": "Invalid postcode."},
    "date": {
        "fr": "Date incorrecte (JJ/MM/AAAA).",
        "en": "Invalid date (DD/MM/YYYY).",
    },
    "date_min": {
        "fr": "La date doit être au plus tôt le {min}.",
        "en": "The date must be on or after {min}.",
    },
    "date_max": {
        "fr": "La date doit être au plus tard le {max}.",
        "en": "The date must be on or before {max}.",
    },
    "iban": {
        "fr": "IBAN incorrect : vérifiez les caractères (clé de contrôle invalide).",
        "en": "Invalid IBAN: please check it (the checksum does not match).",
    },
    "iban_country": {
        "fr": "IBAN d'un pays non accepté ({country}).",
        "en": "IBAN from a country that is not accepted ({country}).",
    },
    "choice": {"fr": "Choix non proposé.", "en": "Not a valid choice."},
    "checkbox": {"fr": "Valeur de case incorrecte.", "en": "Invalid checkbox value."},
    "must_tick": {
        "fr": "Cochez cette case pour continuer.",
        "en": "Tick this box to continue.",
    },
    "signature": {"fr": "Signature attendue.", "en": "Signature expected."},
    "invalid_characters": {
        "fr": "Caractères non autorisés.",
        "en": "Characters that are not allowed.",
    },
}

_UI: Final[dict[str, dict[str, str]]] = {
    "lang_switch": {"fr": "English", "en": "Français"},
    "skip": {"fr": "Aller au formulaire", "en": "Skip to the form"},
    "submit": {"fr": "Envoyer", "en": "Submit"},
    "continue": {"fr": "Continuer", "en": "Continue"},
    "required_mark": {"fr": "obligatoire", "en": "required"},
    "optional_mark": {"fr": "facultatif", "en": "optional"},
    "form_intro": {
        "fr": "Vérifiez vos informations et corrigez ce qui a changé, puis envoyez.",
        "en": "Check your details, correct what has changed, then submit.",
    },
    "snapshot_note": {
        "fr": "Nos systèmes ne répondent pas pour le moment : les valeurs affichées sont celles "
        "connues à l'envoi du document, le {date}.",
        "en": "Our systems are not answering right now: the values shown are those we held when "
        "the document was sent, on {date}.",
    },
    "error_summary": {
        "fr": "Le formulaire contient {count} erreur(s) :",
        "en": "The form has {count} error(s):",
    },
    "challenge_title": {"fr": "Vérification de votre identité", "en": "Confirm who you are"},
    "challenge_intro": {
        "fr": "Pour protéger vos données, répondez d'abord à cette question.",
        "en": "To protect your data, please answer this question first.",
    },
    "challenge_failed": {
        "fr": "Les réponses ne correspondent pas à nos informations. Après plusieurs erreurs, "
        "le formulaire est bloqué pendant un moment.",
        "en": "The answers do not match our records. After several mistakes the form is locked "
        "for a while.",
    },
    "done_title": {
        "fr": "Merci, votre réponse est enregistrée",
        "en": "Thank you, your answer is recorded",
    },
    "done_repeated": {
        "fr": "Nous avions déjà reçu votre réponse le {date}. La voici ; elle sera traitée "
        "prochainement.",
        "en": "We had already received your answer on {date}. Here it is; it will be processed "
        "shortly.",
    },
    "done_changes": {"fr": "Ce qui va changer :", "en": "What will change:"},
    "done_no_change": {
        "fr": "Vous avez confirmé que vos informations sont à jour : rien ne change.",
        "en": "You confirmed that your details are up to date: nothing changes.",
    },
    "done_reference": {"fr": "Référence de votre réponse", "en": "Reference of your answer"},
    "before": {"fr": "Avant", "en": "Before"},
    "after": {"fr": "Après", "en": "After"},
    "field": {"fr": "Information", "en": "Detail"},
    "empty_value": {"fr": "(vide)", "en": "(empty)"},
    "reference": {"fr": "Réf.", "en": "Ref."},
    "error_title": {"fr": "Ce lien ne fonctionne pas", "en": "This link does not work"},
    "error_new_link": {
        "fr": "Pour obtenir un nouveau lien, contactez-nous en rappelant la référence imprimée "
        "sur votre courrier, ou répondez avec le formulaire papier joint.",
        "en": "To get a new link, contact us quoting the reference printed on your letter, or "
        "answer with the enclosed paper form.",
    },
    "err.tampered_link": {
        "fr": "Ce lien est incomplet ou a été modifié. Vérifiez que vous l'avez copié en entier.",
        "en": "This link is incomplete or has been altered. Check that you copied all of it.",
    },
    "err.expired_link": {"fr": "Ce lien a expiré.", "en": "This link has expired."},
    "err.revoked_link": {"fr": "Ce formulaire a été retiré.", "en": "This form was withdrawn."},
    "err.unknown_document": {
        "fr": "Ce lien ne mène à aucun formulaire.",
        "en": "This link does not lead to any form.",
    },
    "err.closed_link": {
        "fr": "Votre réponse a déjà été traitée : ce lien n'accepte plus de réponse.",
        "en": "Your answer has already been processed: this link accepts no more answers.",
    },
    "err.too_many_attempts": {
        "fr": "Trop d'essais. Réessayez dans quelques minutes.",
        "en": "Too many attempts. Try again in a few minutes.",
    },
    "err.csrf": {
        "fr": "La page a expiré. Rechargez-la et recommencez.",
        "en": "The page has expired. Reload it and try again.",
    },
    "err.generic": {
        "fr": "La demande n'a pas pu être traitée.",
        "en": "The request could not be processed.",
    },
    "err.not_found": {"fr": "Page introuvable.", "en": "Page not found."},
    "err.source_unavailable": {
        "fr": "Nos systèmes ne répondent pas pour le moment. Réessayez plus tard.",
        "en": "Our systems are not answering right now. Please try again later.",
    },
}


def translate(key: str, locale: str, /, **params: object) -> str:
    """Return message `key` in `locale` (French when unknown), formatted with `params`."""
    entry = _MESSAGES.get(key) or _UI.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry[DEFAULT_LOCALE]
    return text.format(**params)


def pick(texts: Mapping[str, str], locale: str) -> str:
    """Return the text of a {locale: text} mapping, falling back to French then anything."""
    return texts.get(locale) or texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")
