"""Issue a campaign's PDFs: streamed keys, batches, several processes, resumable.

Keys are streamed from the connector and cut into batches; each batch issues its documents
(idempotent per form, record and campaign) and writes either one PDF per document
(`<reference>.pdf`) or one merged print file (`print-00001.pdf`) with a sidecar listing what
it holds. Files are written to a temporary name and renamed, so an interrupted run leaves
only complete files; running it again skips them and issues nothing twice.
"""

from __future__ import annotations

import csv
import functools
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import InvalidInput
from forms_service.issuing.printing import DocumentPrinter
from forms_service.issuing.service import IssuingService
from forms_service.storage.model import Document

if TYPE_CHECKING:
    pass

#: A source record, as a connector reads it.
Record = Mapping[str, Any]
MANIFEST_COLUMNS = (
    "key",
    "document_id",
    "reference",
    "link",
    "expires_at",
    "pages",
    "file",
    "offset",
)
#: Documents per task when each document gets its own file.
SINGLE_BATCH = 25


@dataclass(frozen=True)
class CampaignPlan:
    """What to issue and where.

    Attributes:
        form_id: the form to issue.
        campaign: the campaign name (the same name resumes the same campaign).
        selection: which records.
        out_dir: where the PDFs go.
        merge: documents per merged print file; None writes one PDF per document.
        jobs: worker processes (1 renders in this process).
        actor: who issues, for the audit trail.
    """

    form_id: str
    campaign: str
    selection: Selection
    out_dir: Path
    merge: int | None = None
    jobs: int = 1
    actor: str = "cli"

    def __post_init__(self) -> None:
        if self.merge is not None and not 1 <= self.merge <= 100_000:
            raise InvalidInput("--merge must be between 1 and 100000 documents", field="merge")
        if not 1 <= self.jobs <= 64:
            raise InvalidInput("--jobs must be between 1 and 64", field="jobs")
        if not self.campaign or len(self.campaign) > 64:
            raise InvalidInput("campaign must be 1 to 64 characters", field="campaign")


@dataclass(frozen=True)
class ManifestLine:
    """One document of a campaign: where its pages are (offset: first page, from 0)."""

    key: str
    document_id: str
    reference: str
    link: str
    expires_at: str
    pages: int
    file: str
    offset: int


@dataclass(frozen=True)
class BatchResult:
    """What one batch did."""

    lines: tuple[ManifestLine, ...]
    created: int
    rendered: int


class BatchWorker:
    """Issues and renders batches of keys (in this process or in a worker process)."""

    def __init__(self, issuing: IssuingService, plan: CampaignPlan) -> None:
        self.issuing = issuing
        self.plan = plan
        self.printer = DocumentPrinter(issuing)
        self.definition = issuing.definition(plan.form_id)
        self.pages = self.printer.renderer.page_count(self.definition)

    def run(self, index: int, keys: list[str]) -> BatchResult:
        """Issue and render one batch; batch `index` numbers merged print files."""
        done = self.completed(index, keys)
        if done is not None:
            return done
        documents, created = self.issue(keys)
        return self.render(index, documents, created)

    def completed(self, index: int, keys: list[str]) -> BatchResult | None:
        """A merged print file already written for exactly these keys (None otherwise)."""
        if self.plan.merge is None:
            return None
        target = self.plan.out_dir / _print_file(index)
        done = _read_sidecar(target.with_suffix(".json"))
        if done is not None and target.exists() and [line.key for line in done] == keys:
            return BatchResult(tuple(done), 0, 0)
        return None

    def render(
        self, index: int, documents: list[tuple[Document, Record]], created: int
    ) -> BatchResult:
        """Render issued documents: one file each, or merged print file `index`."""
        if self.plan.merge is None:
            return self._singles(documents, created)
        return self._merged(index, documents, created)

    def issue(self, keys: list[str]) -> tuple[list[tuple[Document, Record]], int]:
        """The batch's documents with their source records, issuing those not issued yet.

        The records are read in one query and the new documents written with their audit
        events in one transaction (each record is read once, for the snapshot and the
        letter); records deleted from the source since the keys were read are skipped.
        """
        source = self.definition.source
        connector = self.issuing.connectors[source.connector]
        records = connector.read_many(source.record_type, keys)
        issued = self.issuing.issue_batch(
            self.definition, records, self.plan.campaign, actor=self.plan.actor
        )
        created = sum(new for _document, new in issued)
        return [(document, records[document.record_key]) for document, _new in issued], created

    def _line(self, document: Document, file: str, offset: int) -> ManifestLine:
        return ManifestLine(
            key=document.record_key,
            document_id=document.id,
            reference=document.reference,
            link=self.issuing.link_for(document),
            expires_at=document.expires_at.isoformat(),
            pages=self.pages,
            file=file,
            offset=offset,
        )

    def _singles(self, documents: list[tuple[Document, Record]], created: int) -> BatchResult:
        lines = []
        rendered = 0
        ids = [d.id for d, _record in documents]
        short_links = self.issuing.short_links_for(ids)
        access_codes = self.issuing.access_codes_for(ids)
        for document, record in documents:
            name = f"{document.reference}.pdf"
            target = self.plan.out_dir / name
            if not target.exists():
                pdf = self.printer.render(document, record, short_links, access_codes)
                _write_atomically(target, pdf)
                rendered += 1
            lines.append(self._line(document, name, 0))
        return BatchResult(tuple(lines), created, rendered)

    def _merged(
        self, index: int, documents: list[tuple[Document, Record]], created: int
    ) -> BatchResult:
        name = _print_file(index)
        target = self.plan.out_dir / name
        sidecar = target.with_suffix(".json")
        if not documents:
            return BatchResult((), created, 0)
        renderer = self.printer.renderer
        letter = self.printer.letter(self.definition)
        partial = target.with_name(f".{name}.partial")
        canvas = renderer.new_canvas(
            str(partial), title=self.definition.title_in(renderer.locale), author=letter.sender[:1]
        )
        lines = []
        offset = 0
        ids = [d.id for d, _record in documents]
        short_links = self.issuing.short_links_for(ids)
        access_codes = self.issuing.access_codes_for(ids)
        for document, record in documents:
            content = self.printer.content(document, record, short_links, access_codes)
            pages = renderer.draw(canvas, self.definition, letter, content, fillable=False)
            lines.append(self._line(document, name, offset))
            offset += pages
        canvas.save()
        os.replace(partial, target)
        _write_atomically(sidecar, json.dumps([asdict(line) for line in lines]).encode())
        return BatchResult(tuple(lines), created, len(documents))


def _print_file(index: int) -> str:
    return f"print-{index:05d}.pdf"


def _write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def _read_sidecar(path: Path) -> list[ManifestLine] | None:
    try:
        raw = json.loads(path.read_text())
        return [ManifestLine(**item) for item in raw]
    except (OSError, ValueError, TypeError):
        return None


def batches(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    """Cut a stream of keys into lists of `size` without reading ahead."""
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- worker processes ---------------------------------------------------------------------

_WORKER: BatchWorker | None = None
#: Builds the issuing service of a worker process (the CLI passes one on the settings).
IssuingFactory = Callable[[], IssuingService]


def _start_worker(worker_issuing: IssuingFactory, plan: CampaignPlan) -> None:
    global _WORKER  # one worker object per process, by design: it owns the process's runtime
    _WORKER = BatchWorker(worker_issuing(), plan)


#: What a worker needs to render a document without the database: its columns and record.
IssuedRow = tuple[dict[str, Any], dict[str, Any]]
_COLUMNS = (
    "id",
    "reference",
    "form_id",
    "form_version",
    "record_key",
    "campaign",
    "snapshot",
    "issued_at",
    "expires_at",
    "layout_version",
)


def _row(document: Document, record: Record) -> IssuedRow:
    return {c: getattr(document, c) for c in _COLUMNS}, dict(record)


def _render_in_worker(index: int, rows: list[IssuedRow], created: int) -> BatchResult:
    assert _WORKER is not None  # noqa: S101 - set by the pool initializer
    documents: list[tuple[Document, Record]] = [
        (Document(**columns), record) for columns, record in rows
    ]
    return _WORKER.render(index, documents, created)


@dataclass(frozen=True)
class CampaignSummary:
    """What a campaign run did."""

    documents: int
    created: int
    rendered: int
    manifest: Path


def count_keys(issuing: IssuingService, plan: CampaignPlan) -> int:
    """How many records the selection streams (one pass over the keys, none kept)."""
    definition = issuing.definition(plan.form_id)
    connector = issuing.connectors[definition.source.connector]
    return sum(1 for _ in connector.keys(definition.source.record_type, plan.selection))


def run_campaign(
    issuing: IssuingService,
    worker_issuing: IssuingFactory,
    plan: CampaignPlan,
    manifest: Path,
    *,
    progress: Callable[[int], None] = lambda n: None,
) -> CampaignSummary:
    """Issue and render every selected record, writing the manifest as batches complete.

    Args:
        issuing: this process's issuing service (streams the keys; renders when jobs=1).
        worker_issuing: builds, in each worker process (jobs > 1), the issuing service that
            process renders with: its own runtime, database connections included.
        plan: what to issue and where.
        manifest: the CSV manifest to write (key, document, pages, file, offset…).
        progress: called with the number of documents each finished batch held.
    """
    definition = issuing.definition(plan.form_id)
    connector = issuing.connectors[definition.source.connector]
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    keys = connector.keys(definition.source.record_type, plan.selection)
    size = plan.merge or SINGLE_BATCH
    documents = created = rendered = 0
    partial = manifest.with_name(f".{manifest.name}.partial")
    with partial.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()

        def record(result: BatchResult) -> None:
            nonlocal documents, created, rendered
            writer.writerows(asdict(line) for line in result.lines)
            documents += len(result.lines)
            created += result.created
            rendered += result.rendered
            progress(len(result.lines))

        if plan.jobs == 1:
            worker = BatchWorker(issuing, plan)
            for index, batch in enumerate(batches(keys, size), start=1):
                record(worker.run(index, batch))
        else:
            _run_pool(issuing, worker_issuing, plan, batches(keys, size), record)
    os.replace(partial, manifest)
    return CampaignSummary(documents, created, rendered, manifest)


def _same(result: BatchResult) -> BatchResult:
    return result


def _run_pool(
    issuing: IssuingService,
    worker_issuing: IssuingFactory,
    plan: CampaignPlan,
    work: Iterator[list[str]],
    record: Callable[[BatchResult], None],
) -> None:
    """Issue here, render in `plan.jobs` forked workers.

    This process is the only one writing to the database: with SQLite, two writers queue
    behind each other's locks (and sleep in the busy handler), which cancelled the gain of
    a second process on a loaded machine.
    """
    issuer = BatchWorker(issuing, plan)  # also loads the fonts that the workers inherit
    # A bounded window of tasks: Pool.imap would read the whole key stream ahead.
    context = multiprocessing.get_context("fork")
    pending: deque[Callable[[], BatchResult]] = deque()
    # Forked: the factory (a closure) reaches the workers without being pickled.
    with context.Pool(
        plan.jobs, initializer=_start_worker, initargs=(worker_issuing, plan)
    ) as pool:
        for index, batch in enumerate(work, start=1):
            done = issuer.completed(index, batch)
            if done is not None:
                pending.append(functools.partial(_same, done))
            else:
                documents, created = issuer.issue(batch)
                rows = [_row(document, source) for document, source in documents]
                pending.append(pool.apply_async(_render_in_worker, (index, rows, created)).get)
            while len(pending) >= 2 * plan.jobs:
                record(pending.popleft()())
        while pending:
            record(pending.popleft()())
