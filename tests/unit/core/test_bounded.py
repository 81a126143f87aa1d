"""A decode run in a bounded child: its result, its errors, and its limits enforced."""

from __future__ import annotations

import os
import signal

import pytest

from forms_service.core.bounded import OverLimits, run_bounded
from forms_service.intake.mailroom.files import PageProblem


def test_the_result_and_the_errors_of_the_child_reach_the_caller() -> None:
    assert run_bounded(lambda: {"pages": [1, 2]}) == {"pages": [1, 2]}

    def refuse() -> None:
        raise PageProblem("corrupt_pdf", "the PDF is damaged and cannot be opened")

    with pytest.raises(PageProblem) as raised:
        run_bounded(refuse)
    assert (raised.value.code, raised.value.reason) == (
        "corrupt_pdf",
        "the PDF is damaged and cannot be opened",
    )


def test_a_child_taking_too_much_memory_is_stopped() -> None:
    def hoard() -> int:
        return len(bytearray(512 * 1024 * 1024))

    with pytest.raises(OverLimits):
        run_bounded(hoard, memory_bytes=64 * 1024 * 1024)


def test_a_child_running_past_its_time_is_stopped() -> None:
    def spin() -> None:
        while True:
            pass

    with pytest.raises(OverLimits):
        run_bounded(spin, seconds=1)


def test_a_child_killed_from_outside_is_over_its_limits() -> None:
    with pytest.raises(OverLimits):
        run_bounded(lambda: os.kill(os.getpid(), signal.SIGKILL))
