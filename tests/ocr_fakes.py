"""A recorded OCR engine: replays what a real engine answered, for fast orchestration tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ocr.interfaces import EngineReading, GrayImage, OcrEngine

NOTHING = EngineReading("", 0.0)


def _key(mode: str, image: GrayImage, charset: str | None) -> str:
    digest = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()[:16]
    return f"{mode}:{charset or ''}:{digest}"


@dataclass
class RecordingEngine:
    """Wraps a real engine and records every answer, keyed by the image it was given."""

    engine: OcrEngine
    answers: dict[str, EngineReading] = field(default_factory=dict)
    name: str = "recording"

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        reading = self.engine.read_line(image, charset)
        self.answers[_key("line", image, charset)] = reading
        return reading

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        reading = self.engine.read_character(image, charset)
        self.answers[_key("char", image, charset)] = reading
        return reading


@dataclass
class RecordedEngine:
    """Replays recorded answers; an image never seen gets `default` (and is counted)."""

    answers: dict[str, EngineReading]
    default: EngineReading = NOTHING
    name: str = "recorded"
    misses: int = 0
    calls: list[str] = field(default_factory=list)

    def _answer(self, mode: str, image: GrayImage, charset: str | None) -> EngineReading:
        key = _key(mode, image, charset)
        self.calls.append(key)
        if key not in self.answers:
            self.misses += 1
            return self.default
        return self.answers[key]

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._answer("line", image, charset)

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        return self._answer("char", image, charset)


@dataclass
class ScriptedEngine:
    """Answers every line with `line` and every character with `character`."""

    line: EngineReading
    character: EngineReading = NOTHING
    name: str = "scripted"
    lines_read: int = 0
    characters_read: int = 0

    def read_line(self, image: GrayImage, charset: str | None) -> EngineReading:
        self.lines_read += 1
        return self.line

    def read_character(self, image: GrayImage, charset: str | None) -> EngineReading:
        self.characters_read += 1
        return self.character
