"""A form's message rendered for e-mail and SMS, in both languages, and its checks."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import email.policy
import random
import textwrap
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import (
    DefinitionSet,
    load_definition,
    load_definitions,
)
from forms_service.delivery.gsm import count_segments
from forms_service.delivery.interfaces import MessageContext, Purpose
from forms_service.delivery.messages import (
    TEXT_WIDTH,
    MessageRenderer,
    NoMessage,
    check_message,
    longest_sms_date,
    wrap,
)

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
CONNECTORS = {"crm": DEMO_CRM_RECORD_TYPES}
BASE = "https://formulaires.mutuelle-horizon.example"
LINK = f"{BASE}/f/AAAAAAAAAAAAAAAAAAAAAA.t1abcd.k1.BBBBBBBBBBBBBBBBBBBBBB"
SHORT = f"{BASE}/r/0123456789abcdefghjk"
HOSTILE = {
    "title": "M.",
    "first_name": '<script>alert("x")</script>',
    "last_name": 'O\'Hara & "Fils"',
}


@pytest.fixture(scope="module")
def shipped() -> DefinitionSet:
    return load_definitions(SHIPPED, connectors=CONNECTORS)


@pytest.fixture(scope="module")
def renderer(shipped: DefinitionSet) -> MessageRenderer:
    return MessageRenderer(shipped)


def context(form_id: str = "contact-update", locale: str = "fr", **changes: Any) -> MessageContext:
    values: dict[str, Any] = {
        "form_id": form_id,
        "locale": locale,
        "record": {"title": "Mme", "first_name": "Zoé", "last_name": "Lefèvre"},
        "link": LINK,
        "short_link": SHORT,
        "deadline": dt.date(2026, 8, 31),
    }
    values.update(changes)
    return MessageContext(**values)


class StrictTree(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> StrictTree:
    tree = StrictTree()
    tree.feed(html)
    tree.close()
    assert tree.stack == [], f"unclosed: {tree.stack}"
    return tree


# -- e-mail ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ["contact-update", "bank-details", "consent-preferences"])
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_shipped_email_is_well_formed_with_both_parts_and_the_link(
    renderer: MessageRenderer, form_id: str, locale: str
) -> None:
    rendition = renderer.render_email(context(form_id, locale))
    tree = parse(rendition.html)
    html_tag = next(attrs for tag, attrs in tree.tags if tag == "html")
    assert html_tag["lang"] == locale
    # The link as a button and as text, in the HTML; as text in the plain part.
    anchors = [attrs["href"] for tag, attrs in tree.tags if tag == "a"]
    assert anchors.count(LINK) >= 2
    assert LINK in "".join(tree.text)
    assert LINK in rendition.text
    # No external images, fonts or style sheets; the layout is tables with inline styles.
    assert not [t for t, _ in tree.tags if t in {"img", "link", "script", "iframe"}]
    assert "@import" not in rendition.html and "url(" not in rendition.html
    tables = [attrs for tag, attrs in tree.tags if tag == "table"]
    assert tables and all(attrs.get("role") == "presentation" for attrs in tables)
    assert any("max-width:600px" in (attrs.get("style") or "") for attrs in tables)
    assert 'name="color-scheme" content="light dark"' in rendition.html
    # The sender says who writes.
    assert rendition.sender.name == "Mutuelle Horizon"
    assert rendition.sender.address.endswith("@mutuelle-horizon.example")
    assert "Mutuelle Horizon" in rendition.text
    assert rendition.locale == locale
    assert "\n" not in rendition.subject


def test_the_french_email_reads_french_and_the_english_one_english(
    renderer: MessageRenderer,
) -> None:
    fr = renderer.render_email(context(locale="fr"))
    en = renderer.render_email(context(locale="en"))
    assert fr.subject == "Vos coordonnées sont-elles toujours à jour ?"
    assert en.subject == "Are your contact details still up to date?"
    assert "Bonjour Zoé Lefèvre," in fr.text
    assert "Hello Zoé Lefèvre," in en.text
    assert "31 août 2026" in fr.text and "August 31, 2026" in en.text
    assert "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :" in fr.html
    assert "If the button does not work, copy this link into your browser:" in en.html
    assert "Ce message vous est envoyé par Mutuelle Horizon." in fr.text
    assert "This message was sent to you by Mutuelle Horizon." in en.text


def test_the_preheader_is_hidden_text_before_the_body(renderer: MessageRenderer) -> None:
    html = renderer.render_email(context()).html
    preheader = "Deux minutes pour vérifier votre adresse, votre e-mail et votre téléphone."
    assert preheader in html
    assert html.index(preheader) < html.index("Bonjour")
    hidden = html[html.rindex("<div", 0, html.index(preheader)) : html.index(preheader)]
    assert "display:none" in hidden and "max-height:0" in hidden


def test_record_values_are_escaped_in_html_and_kept_plain_in_text(
    renderer: MessageRenderer,
) -> None:
    rendition = renderer.render_email(context(record=HOSTILE))
    assert "<script>" not in rendition.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendition.html
    assert "O&#39;Hara &amp; &#34;Fils&#34;" in rendition.html
    tree = parse(rendition.html)
    assert not [t for t, _ in tree.tags if t == "script"]
    assert '<script>alert("x")</script> O\'Hara & "Fils"' in rendition.text
    # Nothing of the record in the one header the renderer gives.
    assert "script" not in rendition.subject and "Hara" not in rendition.subject


def test_a_record_value_cannot_break_a_line_or_bring_a_link(renderer: MessageRenderer) -> None:
    record = {"first_name": "Ana\r\nBcc: x@evil.example", "last_name": "{link}\x00"}
    rendition = renderer.render_email(context(record=record))
    assert "Bonjour Ana Bcc: x@evil.example {link}," in rendition.text
    sms = renderer.render_sms(context(record=record))
    assert "\r" not in sms.text


def test_a_missing_name_leaves_no_stray_space(renderer: MessageRenderer) -> None:
    rendition = renderer.render_email(context(record={}))
    assert "Bonjour," in rendition.text


def test_an_email_only_block_is_in_the_email_and_not_in_the_sms(
    renderer: MessageRenderer, shipped: DefinitionSet
) -> None:
    promo = "Horizon Santé"
    rendition = renderer.render_email(context("consent-preferences"))
    assert promo in rendition.html and promo in rendition.text
    assert promo not in renderer.render_sms(context("consent-preferences")).text
    message = shipped["consent-preferences"].message
    assert message is not None
    assert all(promo not in b.text_in("fr") for b in message.letter_blocks())


def test_purpose_and_unsubscribe_follow_the_definition(renderer: MessageRenderer) -> None:
    service = renderer.render_email(context("contact-update"))
    assert service.purpose is Purpose.SERVICE
    assert service.unsubscribe_url is None
    assert "Se désabonner" not in service.html
    url = "https://formulaires.mutuelle-horizon.example/u/abc"
    commercial = renderer.render_email(context("consent-preferences", unsubscribe_url=url))
    assert commercial.purpose is Purpose.COMMERCIAL
    assert commercial.unsubscribe_url == url
    assert f'href="{url}"' in commercial.html and "Se désabonner" in commercial.html
    assert url in commercial.text


def test_a_reminder_says_so_in_the_subject_and_the_body(renderer: MessageRenderer) -> None:
    first = renderer.render_email(context("bank-details", "fr"))
    reminder = renderer.render_email(context("bank-details", "fr", reminder=1))
    assert reminder.subject == f"Rappel : {first.subject}"
    assert "Nous n’avons pas encore reçu votre réponse : voici un rappel." in reminder.html
    assert "rappel" not in first.html.lower()
    english = renderer.render_email(context("bank-details", "en", reminder=2))
    assert english.subject.startswith("Reminder: ")
    # A definition's own reminder subject wins over the prefix.
    own = renderer.render_email(context("contact-update", "fr", reminder=1))
    assert own.subject == "Rappel : vérifiez vos coordonnées avant le 31 août 2026"


# -- SMS ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ["contact-update", "bank-details", "consent-preferences"])
@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("reminder", [0, 1])
def test_every_shipped_sms_is_gsm7_and_carries_the_essential(
    renderer: MessageRenderer, form_id: str, locale: str, reminder: int
) -> None:
    sms = renderer.render_sms(context(form_id, locale, reminder=reminder))
    assert SHORT in sms.text
    assert "Horizon" in sms.text
    assert ("31/08/2026" if locale == "fr" else "31 Aug 2026") in sms.text
    counted = count_segments(sms.text)
    assert counted.forced_by is None, counted.describe()
    assert counted.segments <= 2
    assert sms.sender == "HORIZON"
    assert LINK not in sms.text


def test_an_sms_reminder_uses_its_variant_or_the_prefix(renderer: MessageRenderer) -> None:
    own = renderer.render_sms(context("contact-update", reminder=1)).text
    assert own.startswith("Rappel Mutuelle Horizon : vérifiez")
    prefixed = renderer.render_sms(context("bank-details", "en", reminder=1)).text
    first = renderer.render_sms(context("bank-details", "en")).text
    assert prefixed == f"Reminder: {first}"


def test_a_form_without_a_message_is_told(renderer: MessageRenderer) -> None:
    with pytest.raises(NoMessage):
        renderer.render_email(context("no-such-form"))


# -- the checks -----------------------------------------------------------------------------


def definition_with(tmp_path: Path, change: Any) -> tuple[FormDefinition | None, list[str]]:
    raw = yaml.safe_load((SHIPPED / "bank-details.yaml").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    change(raw)
    path = tmp_path / "bank-details.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    definition, problems = load_definition(path, connectors=CONNECTORS)
    return definition, [p.problem for p in problems]


def test_shipped_messages_pass_the_sms_check() -> None:
    for definition in load_definitions(SHIPPED, connectors=CONNECTORS).values():
        assert check_message(definition, base_url=BASE) == []


def test_an_email_without_a_plain_text_part_is_refused(tmp_path: Path) -> None:
    def html_only(raw: dict[str, Any]) -> None:
        for block in raw["message"]["email"]["blocks"]:
            block["parts"] = ["html"]

    _, problems = definition_with(tmp_path, html_only)
    assert problems == [
        "message: the e-mail has no plain-text part (every block is 'parts: [html]')"
    ]


def test_an_email_part_without_the_link_is_refused(tmp_path: Path) -> None:
    def button_html_only(raw: dict[str, Any]) -> None:
        for block in raw["message"]["email"]["blocks"]:
            if "button" in block:
                block["parts"] = ["html"]

    _, problems = definition_with(tmp_path, button_html_only)
    assert problems == [
        "message: the e-mail's plain-text part (fr) lacks the link: add a 'button' block or {link}",
        "message: the e-mail's plain-text part (en) lacks the link: add a 'button' block or {link}",
    ]


def test_an_sms_without_the_short_link_is_refused(tmp_path: Path) -> None:
    def long_link(raw: dict[str, Any]) -> None:
        text = raw["message"]["sms"]["text"]
        text["en"] = text["en"].replace("{short_link}", "{link}")

    _, problems = definition_with(tmp_path, long_link)
    assert problems == ["message: the sms text (en) lacks the link: add {short_link}"]


def test_an_unknown_placeholder_is_refused_naming_the_allowed_ones(tmp_path: Path) -> None:
    def iban(raw: dict[str, Any]) -> None:
        raw["message"]["email"]["blocks"][0]["text"]["fr"] = "Bonjour {first_name}, {iban}"

    _, problems = definition_with(tmp_path, iban)
    assert len(problems) == 1
    assert problems[0].startswith(
        "message: email blocks[0] (fr) uses unknown placeholders {iban} (allowed: {deadline},"
    )


def test_a_subject_quoting_the_record_is_refused(tmp_path: Path) -> None:
    """A subject is a header: nothing of the record goes into it."""

    def named(raw: dict[str, Any]) -> None:
        raw["message"]["email"]["subject"]["en"] = "{first_name}, your IBAN by {deadline}"

    _, problems = definition_with(tmp_path, named)
    assert problems == [
        "message: email subject (en) uses forbidden placeholders {first_name} "
        "(allowed: {deadline}, {form}, {organisation})"
    ]


def test_a_wrong_purpose_and_a_missing_language_are_refused(tmp_path: Path) -> None:
    def wrong(raw: dict[str, Any]) -> None:
        raw["purpose"] = "marketing"
        del raw["message"]["sms"]["text"]["en"]

    _, problems = definition_with(tmp_path, wrong)
    assert "'purpose' 'marketing' must be one of service, regulatory, commercial" in problems
    assert "'message sms text' has no en text" in problems


def test_an_sms_too_long_at_its_longest_is_refused(tmp_path: Path) -> None:
    def longer(raw: dict[str, Any]) -> None:
        raw["message"]["sms"]["text"]["en"] += " " + "Please answer soon. " * 8

    definition, problems = definition_with(tmp_path, longer)
    assert problems == [] and definition is not None
    found = check_message(definition, base_url=BASE)
    assert len(found) == 2  # the SMS and its reminder (prefixed), in English
    assert found[0].startswith(
        "message: the SMS (en) takes more than 2 segments at its longest: the SMS is GSM-7, "
    )
    assert found[0].endswith("3 segments of 153")


def test_the_character_that_forced_ucs2_is_named(tmp_path: Path) -> None:
    def curly(raw: dict[str, Any]) -> None:
        raw["message"]["sms"]["text"]["fr"] = (
            "{organisation} : vous n’avez pas encore répondu. Indiquez votre nouvel IBAN avant "
            "le {deadline} sur {short_link}."
        )

    definition, problems = definition_with(tmp_path, curly)
    assert problems == [] and definition is not None
    found = check_message(definition, base_url=BASE)
    assert found[0].startswith(
        "message: the SMS (fr) takes more than 2 segments at its longest: "
        "’ (U+2019) is outside GSM-7: the SMS is UCS-2, "
    )
    assert found[0].endswith("3 segments of 67")
    # The same text with a straight apostrophe fits: GSM-7, 2 segments.
    message = definition.message
    assert message is not None and message.sms is not None
    straight = {**message.sms.text, "fr": message.sms.text["fr"].replace("’", "'")}
    message = dataclasses.replace(message, sms=dataclasses.replace(message.sms, text=straight))
    assert check_message(dataclasses.replace(definition, message=message), base_url=BASE) == []


def test_names_are_counted_at_their_longest_and_in_ucs2(tmp_path: Path) -> None:
    def named(raw: dict[str, Any]) -> None:
        raw["message"]["sms"]["text"]["fr"] = (
            "{organisation} : {title} {first_name} {last_name}, indiquez votre nouvel IBAN "
            "avant le {deadline} : {short_link}"
        )

    definition, _ = definition_with(tmp_path, named)
    assert definition is not None
    found = check_message(definition, base_url=BASE)
    assert found and found[0].startswith(
        "message: the SMS (fr) takes more than 2 segments at its longest: "
        "{first_name}, {last_name}, {title} may hold any letter (ç, ï…), so it is counted in "
        "UCS-2:"
    )


def test_the_short_link_host_counts(tmp_path: Path) -> None:
    definition, _ = definition_with(tmp_path, lambda raw: None)
    assert definition is not None
    assert check_message(definition, base_url=BASE) == []
    very_long = "https://" + "a" * 120 + ".example"
    assert check_message(definition, base_url=BASE, short_link_base_url=very_long) != []


def test_the_longest_sms_deadline_is_numeric_in_french() -> None:
    assert longest_sms_date("fr") == "01/01/2028"
    assert len(longest_sms_date("en")) == len("10 Sept 2028") or len(longest_sms_date("en")) == 11


def test_definitions_check_lists_a_too_long_sms(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from forms_service.cli import cli

    folder = tmp_path / "definitions"
    folder.mkdir()
    source = (SHIPPED / "contact-update.yaml").read_text(encoding="utf-8")
    marker = "Vérifiez-les en 2 minutes avant le {deadline}"
    assert marker in source
    (folder / "contact-update.yaml").write_text(
        source.replace(marker, marker + " — " + "merci de votre réponse rapide, " * 6),
        encoding="utf-8",
    )
    env = {"FORMS_VAR_DIR": str(tmp_path / "var"), "FORMS_CONFIG": None}
    done = CliRunner().invoke(cli, ["definitions", "check", str(folder)], env=env)
    assert done.exit_code == 1, done.output
    assert (
        "error: contact-update.yaml: message: the SMS (fr) takes more than 2 segments at its "
        "longest: — (U+2014) is outside GSM-7: the SMS is UCS-2"
    ) in done.output
    shipped = CliRunner().invoke(cli, ["definitions", "check", str(SHIPPED)], env=env)
    assert shipped.exit_code == 0, shipped.output


def test_a_message_and_the_mime_stdlib_agree(renderer: MessageRenderer) -> None:
    """The two parts go into multipart/alternative and come back unchanged."""
    rendition = renderer.render_email(context(record=HOSTILE))
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = rendition.subject
    message.set_content(rendition.text)
    message.add_alternative(rendition.html, subtype="html")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == rendition.text
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == rendition.html.rstrip("\n")


class _WholeRenderer(MessageRenderer):
    """The reference: every page rendered by Jinja whole, as before pages were reused."""

    def _page(self, name: str, page: Any, blocks: list[dict[str, Any]]) -> str:
        return self._jinja.get_template(name).render(**page, blocks=blocks)


def test_pages_reused_across_messages_read_as_jinja_renders_each_whole(
    shipped: DefinitionSet,
) -> None:
    """A campaign's messages reuse their page (`_Skeleton`): each reads as its own render."""
    reused, whole = MessageRenderer(shipped), _WholeRenderer(shipped)
    rng = random.Random(7)
    names = ["Zoé", "", 'O\'Hara & "Fils"', "<b>x</b>", "Anne-Marie de la Fontaine " * 3, "{{ x }}"]
    forms = [d.id for d in shipped.values() if d.message is not None and d.message.email]
    checked = 0
    for _ in range(400):
        ctx = context(
            rng.choice(forms),
            rng.choice(["fr", "en"]),
            record={
                "title": rng.choice(["Mme", "M.", "", "<i>"]),
                "first_name": rng.choice(names),
                "last_name": rng.choice(names),
            },
            link=f"{LINK}{rng.choice(['', '&x=<y>', '?a=1'])}",
            reminder=rng.choice([0, 0, 1, 2]),
            unsubscribe_url=rng.choice([None, f"{BASE}/u/{rng.randrange(10**6)}?a=1&b=2"]),
            deadline=dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)),
        )
        assert reused.render_email(ctx) == whole.render_email(ctx)
        checked += 1
    assert checked == 400 and len(reused._skeletons) > 4  # several shapes, each reused


def test_wrap_cuts_lines_as_textwrap_fill_does() -> None:
    rng = random.Random(3)
    words = ["a", "bb", "mot", "x" * 20, "y" * 80, " ", "  ", "   ", "é", ",", "-", "\t", LINK]
    for _ in range(20000):
        line = "".join(rng.choice(words) for _ in range(rng.randint(0, 50)))
        expected = textwrap.fill(line, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)
        assert wrap(line) == expected, line
