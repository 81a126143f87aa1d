"""The plain mobile number fast path gives exactly what the full phonenumbers parse gives."""

from __future__ import annotations

import random

import phonenumbers

from forms_service.delivery.channels import _plain_mobile


def _full(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in kinds:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_every_number_the_fast_path_answers_is_the_full_parse_s_answer() -> None:
    rng = random.Random(14)
    shapes = ("0{}", "+33{}", " 0{} ", "+33 {}", "00{}", "+330{}", "33{}")
    answered = 0
    for _ in range(20_000):
        national = "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 9, 9, 10))))
        if rng.random() < 0.5:
            national = national[0] + "6" + national[2:] if len(national) > 2 else national
        raw = rng.choice(shapes).format(national)
        if rng.random() < 0.5:
            raw = raw.replace(national, ".".join(national[i : i + 2] for i in range(0, 10, 2)))
        fast = _plain_mobile(raw, "FR")
        if fast is not None:
            answered += 1
            assert fast == _full(raw), raw
    assert answered > 1000
    assert _plain_mobile("06 12 34 56 78", "FR") == "+33612345678"
    assert _plain_mobile("01 45 67 89 10", "FR") is None  # a landline: the full parse says so
