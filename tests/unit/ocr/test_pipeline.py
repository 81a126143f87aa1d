"""The orchestrator with a fake engine: every zone read in order, errors per page, batch goes on."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from ocr.engines.tesserocr_engine import TesserocrEngine
from ocr.geometry import FormGeometry, OptionAnswer, OptionBox, PageGeometry, ZoneKind
from ocr.interfaces import EngineReading
from ocr.model import CodeNotFound, ReviewReason, UnknownPage
from ocr.pipeline import PageContext, Resolve, read_file, read_page
from tests.ocr_fakes import RecordedEngine, RecordingEngine, ScriptedEngine
from tests.ocr_pages import (
    SAMPLE_PAIRS,
    Answers,
    Degradation,
    GrayImage,
    degrade,
    render_page,
    sample_checks,
)
from tests.unit.ocr.conftest import FILLED, PAYLOAD


def _resolver(geometry: FormGeometry) -> Resolve:
    def resolve(payload: str) -> PageGeometry:
        if payload != PAYLOAD:
            raise KeyError(payload)
        return geometry.page(1)

    return resolve


def test_empty_page_needs_no_ocr(geometry: FormGeometry, blank_200: GrayImage) -> None:
    engine = ScriptedEngine(EngineReading("SHOULD NOT BE ASKED", 1.0))
    result = read_page(blank_200, _resolver(geometry), engine)
    assert engine.lines_read == 0
    assert result.payload == PAYLOAD
    by_kind = {r.kind: r for r in result.readings}
    assert by_kind[ZoneKind.TEXT].value is None
    assert by_kind[ZoneKind.SIGNATURE].value is None
    assert [r.value for r in result.readings if r.field == "channel"] == ["false"] * 3
    assert all(not r.needs_review for r in result.readings)
    assert all(r.crop.startswith(b"\x89PNG") for r in result.readings)


def test_recorded_engine_replays_a_real_reading(
    geometry: FormGeometry, filled_200: GrayImage
) -> None:
    context = PageContext(checks=sample_checks(), pairs=SAMPLE_PAIRS)
    recording = RecordingEngine(TesserocrEngine())
    live = read_page(filled_200, _resolver(geometry), recording, context)
    replay = RecordedEngine(dict(recording.answers))
    replayed = read_page(filled_200, _resolver(geometry), replay, context)
    assert replay.misses == 0
    assert [(r.field, r.value) for r in replayed.readings] == [
        (r.field, r.value) for r in live.readings
    ]
    values = {r.field: r.value for r in replayed.readings if r.choice is None}
    assert values["postcode"] == FILLED.texts["postcode"]
    assert values["iban"] == FILLED.texts["iban"]


def test_a_failed_check_is_flagged_for_review(
    geometry: FormGeometry, filled_200: GrayImage
) -> None:
    engine = ScriptedEngine(EngineReading("FR7630006000011234567890188", 0.99))
    # The scripted engine reads the combs too (not the handprint model).
    context = PageContext(
        checks=sample_checks({"iban": "iban"}), second_reading=False, handprint=False
    )
    result = read_page(filled_200, _resolver(geometry), engine, context)
    iban = next(r for r in result.readings if r.field == "iban")
    assert ReviewReason.FAILED_CHECK in iban.warnings
    assert iban.needs_review


def test_postcode_and_city_not_confirmed_are_flagged(
    geometry: FormGeometry, filled_200: GrayImage
) -> None:
    engine = ScriptedEngine(EngineReading("LILLE", 0.99))
    # The scripted engine reads the combs too (not the handprint model).
    context = PageContext(pairs=SAMPLE_PAIRS, second_reading=False, handprint=False)
    result = read_page(filled_200, _resolver(geometry), engine, context)
    # every text box reads LILLE here: the postcode "LILLE" is not in the list
    flagged = {r.field for r in result.readings if ReviewReason.FAILED_CHECK in r.warnings}
    assert flagged == {"postcode", "city"}


def test_unknown_payload_is_an_unknown_page(geometry: FormGeometry, filled_200: GrayImage) -> None:
    with pytest.raises(UnknownPage):
        read_page(
            filled_200, lambda payload: geometry.page(99), ScriptedEngine(EngineReading("", 0))
        )


def _tiff(pages: list[GrayImage]) -> bytes:
    images = [Image.fromarray(page) for page in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def test_a_batch_file_reports_each_bad_page_and_goes_on(
    geometry: FormGeometry, blank_200: GrayImage
) -> None:
    blank_sheet = np.full_like(blank_200, 255)
    turned = degrade(blank_200, Degradation(turn=2, rotation=1.5))[
        : blank_200.shape[0], : blank_200.shape[1]
    ]
    data = _tiff([blank_sheet, blank_200, turned])
    outcomes = list(read_file(data, _resolver(geometry), ScriptedEngine(EngineReading("", 0))))
    assert [o.index for o in outcomes] == [0, 1, 2]
    assert isinstance(outcomes[0].error, CodeNotFound)
    assert outcomes[1].reading is not None and outcomes[1].error is None
    assert outcomes[2].reading is not None and outcomes[2].reading.rotation == 180


def test_an_unopenable_file_gives_one_error(geometry: FormGeometry) -> None:
    outcomes = list(
        read_file(b"not a scan", _resolver(geometry), ScriptedEngine(EngineReading("", 0)))
    )
    assert len(outcomes) == 1 and outcomes[0].error is not None
    assert outcomes[0].error.reason == "unreadable_image"


def test_only_checked_values_are_applied_without_a_clerk(
    geometry: FormGeometry, filled_200: GrayImage
) -> None:
    recording = RecordingEngine(TesserocrEngine())
    context = PageContext(checks=sample_checks(), pairs=SAMPLE_PAIRS)
    result = read_page(filled_200, _resolver(geometry), recording, context)
    applied = {
        r.field
        for r in result.readings
        if r.value and r.kind in (ZoneKind.TEXT, ZoneKind.COMB) and not r.needs_review
    }
    # 33000 BORDEAUX is confirmed by the postcode list; the IBAN passes its checksum (and
    # is applied when the engine is sure enough)
    assert {"postcode", "city"} <= applied <= {"iban", "postcode", "city"}
    unverifiable = {r.field for r in result.readings if ReviewReason.UNVERIFIABLE in r.warnings}
    assert unverifiable == {"last_name", "phone", "birth_date", "email"}
    trusting = PageContext(checks=sample_checks(), pairs=SAMPLE_PAIRS, verified_only=False)
    replayed = read_page(
        filled_200, _resolver(geometry), RecordedEngine(dict(recording.answers)), trusting
    )
    assert not any(ReviewReason.UNVERIFIABLE in r.warnings for r in replayed.readings)


def test_an_options_yes_and_no_squares_are_read_with_their_answer(
    geometry: FormGeometry,
) -> None:
    # Layout 2's option rows: each option's two squares, told apart by `answer`.
    sample = geometry.page(1)
    rows = []
    for zone in sample.zones:
        if zone.field == "channel":
            moved = dataclasses.replace(zone.rect, y=zone.rect.y - 25)
            rows.append(OptionBox(zone.field, zone.kind, zone.rect, choice=zone.choice))
            rows.append(
                OptionBox(zone.field, zone.kind, moved, choice=zone.choice, answer=OptionAnswer.NO)
            )
    page = dataclasses.replace(sample, zones=tuple(rows))
    gray = render_page(page, PAYLOAD, 200, Answers(ticks=frozenset({("channel", "sms")})))
    result = read_page(gray, lambda _payload: page, ScriptedEngine(EngineReading("", 0.0)))
    read = {(r.choice, r.answer): r.value for r in result.readings}
    assert read == {
        ("email", "yes"): "false",
        ("email", "no"): "false",
        ("sms", "yes"): "true",
        ("sms", "no"): "true",
        ("post", "yes"): "false",
        ("post", "no"): "false",
    }
    # Any other zone's reading has no answer (layout 1's squares among them).
    plain = read_page(gray, lambda _payload: sample, ScriptedEngine(EngineReading("", 0.0)))
    assert {r.answer for r in plain.readings} == {None}
