"""Customer-facing messages in French (the default) and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from forms_service.office_messages import OFFICE

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
    "invisible_characters": {
        "fr": "Caractères invisibles ou de contrôle refusés : retapez la valeur.",
        "en": "Invisible or control characters are not accepted: type the value again.",
    },
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
    "date_hint": {"fr": "Exemple : 23/04/1987", "en": "Example: 23/04/1987"},
    "error_prefix": {"fr": "Erreur : ", "en": "Error: "},
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
    "download_pdf": {
        "fr": "Télécharger le formulaire PDF (à remplir à l'écran ou à imprimer)",
        "en": "Download the PDF form (to fill in on screen or to print)",
    },
    "upload_download": {
        "fr": "Vous n'avez plus le PDF reçu ? Téléchargez-le de nouveau.",
        "en": "No longer have the PDF you received? Download it again.",
    },
    "form_upload_instead": {
        "fr": "Vous avez déjà rempli le formulaire PDF reçu ? Envoyez-le ici.",
        "en": "Already filled in the PDF form you received? Send it here.",
    },
    # -- fillable-PDF returns (web/public/upload.py) --
    "upload_title": {"fr": "Renvoyer le formulaire PDF rempli", "en": "Send back the filled PDF"},
    "upload_intro": {
        "fr": "Remplissez le PDF reçu avec votre lecteur habituel, enregistrez-le, puis "
        "envoyez-le ici. Seules les cases remplies changent vos informations.",
        "en": "Fill in the PDF you received with any PDF reader, save it, then send it here. "
        "Only the boxes you filled change your details.",
    },
    "upload_file": {"fr": "Votre PDF rempli", "en": "Your filled PDF"},
    "upload_file_help": {
        "fr": "Fichier PDF, {max} Mo au maximum.",
        "en": "PDF file, {max} MB at most.",
    },
    "upload_send": {"fr": "Envoyer le PDF", "en": "Send the PDF"},
    "upload_online": {
        "fr": "Vous pouvez aussi répondre directement en ligne.",
        "en": "You can also answer online directly.",
    },
    "upload_refused": {"fr": "Ce fichier n'a pas été accepté", "en": "This file was not accepted"},
    "upload_received_title": {"fr": "PDF reçu, merci", "en": "PDF received, thank you"},
    "upload_scan_note": {
        "fr": "Votre PDF ne contient plus de cases à remplir (il a sans doute été imprimé en "
        "PDF) : notre service courrier va le lire comme un formulaire papier.",
        "en": "Your PDF has no fillable boxes left (it was probably printed to PDF): our mailroom "
        "will read it like a paper form.",
    },
    "err.not_a_pdf": {
        "fr": "Ce fichier n'est pas un PDF. Envoyez le PDF du formulaire.",
        "en": "This file is not a PDF. Send the form's PDF.",
    },
    "err.too_large": {
        "fr": "Ce fichier est trop volumineux.",
        "en": "This file is too large.",
    },
    "err.pdf_encrypted": {
        "fr": "Ce PDF est protégé par un mot de passe. Enregistrez-en une copie sans mot de "
        "passe et envoyez-la.",
        "en": "This PDF is protected by a password. Save a copy without a password and send it.",
    },
    "err.pdf_corrupt": {
        "fr": "Ce PDF est incomplet ou endommagé. Enregistrez-le à nouveau et renvoyez-le.",
        "en": "This PDF is incomplete or damaged. Save it again and send it again.",
    },
    "err.pdf_too_complex": {
        "fr": "Ce PDF est trop complexe pour être lu. Envoyez le PDF du formulaire reçu.",
        "en": "This PDF is too complex to read. Send the form's PDF you received.",
    },
    "err.pdf_other_document": {
        "fr": "Ce PDF a été envoyé à quelqu'un d'autre : envoyez le PDF que vous avez reçu.",
        "en": "This PDF was sent to someone else: send the PDF you received.",
    },
    "err.pdf_unidentified": {
        "fr": "Ce PDF n'est pas celui que nous vous avons envoyé.",
        "en": "This PDF is not the one we sent you.",
    },
    "err.pdf_not_this_form": {
        "fr": "Ce PDF n'est pas le formulaire de ce courrier.",
        "en": "This PDF is not the form of this letter.",
    },
}


def translate(key: str, locale: str, /, **params: object) -> str:
    """Return message `key` in `locale` (French when unknown), formatted with `params`."""
    entry = _MESSAGES.get(key) or _UI.get(key)
    if entry is None:
        return key
    return _in(entry, locale, params)


def _in(entry: Mapping[str, str], locale: str, params: Mapping[str, object]) -> str:
    text = entry.get(locale) or entry[DEFAULT_LOCALE]
    return text.format(**params) if params else text


def pick(texts: Mapping[str, str], locale: str) -> str:
    """Return the text of a {locale: text} mapping, falling back to French then anything."""
    return texts.get(locale) or texts.get(DEFAULT_LOCALE) or next(iter(texts.values()), "")


def office_text(key: str, locale: str, /, **params: object) -> str:
    """Message `key` of the back office and the mailroom in `locale` (French when unknown).

    Raises:
        KeyError: no such message (a template or view names one the catalogue lacks).
    """
    return _in(OFFICE[key], locale, params)
