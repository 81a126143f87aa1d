"""Campaigns: `issue --pdf` writes every document's PDF once, merged or not, and resumes."""

from __future__ import annotations

import csv
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from sqlalchemy import event, func, select

from forms_service.audit.service import verify
from forms_service.cli.issuing import issue
from forms_service.connectors.interfaces import Selection
from forms_service.issuing.campaign import CampaignPlan, run_campaign
from forms_service.runtime import Runtime, worker_issuing
from forms_service.storage.model import AuditEvent, Document

KEYS = [f"C{n:06d}" for n in range(1, 13)]


def _manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _documents(runtime: Runtime, campaign: str) -> int:
    with runtime.sessions() as session:
        return session.execute(
            select(func.count()).select_from(Document).where(Document.campaign == campaign)
        ).scalar_one()


def test_one_pdf_per_document_with_a_manifest(app: Flask, runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "pdf"
    manifest = tmp_path / "manifest.csv"
    args = ["--form", "contact-update", "--keys", ",".join(KEYS[:5]), "--campaign", "spring"]
    args += ["--pdf", str(out), "--manifest", str(manifest)]
    result = app.test_cli_runner().invoke(issue, args)
    assert result.exit_code == 0, result.output
    assert "5 documents issued" in result.output
    rows = _manifest(manifest)
    assert [r["key"] for r in rows] == KEYS[:5]
    assert set(rows[0]) >= {"key", "document_id", "pages", "file", "offset", "link"}
    for row in rows:
        reader = pypdf.PdfReader(out / row["file"])
        assert len(reader.pages) == int(row["pages"]) == 2
        assert row["offset"] == "0"
        assert row["reference"] in reader.pages[1].extract_text()
        assert reader.get_fields() is not None  # fillable
    # Run again: nothing issued, nothing rendered twice.
    again = app.test_cli_runner().invoke(issue, args)
    assert again.exit_code == 0, again.output
    assert "0 documents issued, 5 already issued" in again.output
    assert "0 PDFs rendered" in again.output
    assert _documents(runtime, "spring") == 5


def test_merged_print_files_list_each_document_offset(runtime: Runtime, tmp_path: Path) -> None:
    plan = CampaignPlan(
        form_id="bank-details",
        campaign="print",
        selection=Selection(keys=tuple(KEYS[:7])),
        out_dir=tmp_path / "print",
        merge=3,
    )
    summary = run_campaign(
        runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
    )
    assert (summary.documents, summary.created, summary.rendered) == (7, 7, 7)
    rows = _manifest(tmp_path / "m.csv")
    assert [r["file"] for r in rows] == ["print-00001.pdf"] * 3 + ["print-00002.pdf"] * 3 + [
        "print-00003.pdf"
    ]
    assert [int(r["offset"]) for r in rows] == [0, 2, 4, 0, 2, 4, 0]
    readers = {
        name: pypdf.PdfReader(tmp_path / "print" / name) for name in {r["file"] for r in rows}
    }
    assert len(readers["print-00001.pdf"].pages) == 6
    assert readers["print-00001.pdf"].get_fields() is None  # print files carry no widgets
    for row in rows:
        reader = readers[row["file"]]
        first = int(row["offset"])
        for page in range(first, first + int(row["pages"])):
            assert f"Réf. {row['reference']}" in reader.pages[page].extract_text()


def test_an_interrupted_campaign_resumes_without_duplicates(
    runtime: Runtime, tmp_path: Path
) -> None:
    out = tmp_path / "print"
    plan = CampaignPlan(
        form_id="contact-update",
        campaign="resume",
        selection=Selection(keys=tuple(KEYS)),
        out_dir=out,
        merge=4,
    )
    seen: list[int] = []

    def interrupt_after_two_batches(count: int) -> None:
        seen.append(count)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(
            runtime.issuing,
            worker_issuing(runtime.settings),
            plan,
            tmp_path / "m.csv",
            progress=interrupt_after_two_batches,
        )
    assert _documents(runtime, "resume") == 8
    assert sorted(p.name for p in out.iterdir()) == [
        "print-00001.json",
        "print-00001.pdf",
        "print-00002.json",
        "print-00002.pdf",
    ]
    assert not (tmp_path / "m.csv").exists()  # the manifest appears complete or not at all
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    summary = run_campaign(
        runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
    )
    assert (summary.documents, summary.created, summary.rendered) == (12, 4, 4)
    assert _documents(runtime, "resume") == 12
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert all(after[name] == stamp for name, stamp in before.items())  # not rewritten
    rows = _manifest(tmp_path / "m.csv")
    assert [r["key"] for r in rows] == KEYS
    assert len({r["document_id"] for r in rows}) == 12


def test_several_processes_issue_each_document_once(runtime: Runtime, tmp_path: Path) -> None:
    plan = CampaignPlan(
        form_id="consent-preferences",
        campaign="parallel",
        selection=Selection(all=True),
        out_dir=tmp_path / "pdf",
        jobs=2,
    )
    summary = run_campaign(
        runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
    )
    rows = _manifest(tmp_path / "m.csv")
    assert summary.documents == len(rows) == _documents(runtime, "parallel") == 40
    assert [r["key"] for r in rows] == sorted(r["key"] for r in rows)  # source order kept
    assert len(list((tmp_path / "pdf").glob("*.pdf"))) == 40
    with runtime.sessions() as session:
        issued = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "issued")
        ).scalar_one()
        report = verify(session)
    assert issued == 40 and report.ok, report  # one event per document, the chain intact
    for row in rows[:3]:
        assert len(pypdf.PdfReader(tmp_path / "pdf" / row["file"]).pages) == int(row["pages"])


def test_campaign_options_are_checked(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    merge_alone = runner.invoke(issue, ["--form", "contact-update", "--all", "--merge", "5"])
    assert merge_alone.exit_code == 2
    assert "--merge and --jobs go with --pdf" in merge_alone.output
    bad_jobs = runner.invoke(
        issue, ["--form", "contact-update", "--all", "--pdf", str(tmp_path), "--jobs", "0"]
    )
    assert bad_jobs.exit_code != 0
    assert "--jobs must be between 1 and 64" in str(bad_jobs.exception or bad_jobs.output)


def test_merged_files_in_several_processes_resume_like_one(
    runtime: Runtime, tmp_path: Path
) -> None:
    plan = CampaignPlan(
        form_id="contact-update",
        campaign="parallel-print",
        selection=Selection(keys=tuple(KEYS)),
        out_dir=tmp_path / "print",
        merge=5,
        jobs=2,
    )
    first = run_campaign(
        runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
    )
    assert (first.documents, first.created, first.rendered) == (12, 12, 12)
    rows = _manifest(tmp_path / "m.csv")
    assert [r["key"] for r in rows] == KEYS
    assert [r["file"] for r in rows] == ["print-00001.pdf"] * 5 + ["print-00002.pdf"] * 5 + [
        "print-00003.pdf"
    ] * 2
    (tmp_path / "print" / "print-00002.pdf").unlink()  # lost: only this one is made again
    again = run_campaign(
        runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
    )
    assert (again.documents, again.created, again.rendered) == (12, 0, 5)
    assert _documents(runtime, "parallel-print") == 12
    assert _manifest(tmp_path / "m.csv") == rows


def test_each_batch_is_written_in_one_transaction(runtime: Runtime, tmp_path: Path) -> None:
    plan = CampaignPlan(
        form_id="contact-update",
        campaign="batched",
        selection=Selection(keys=tuple(KEYS)),
        out_dir=tmp_path / "print",
        merge=5,
    )
    commits: list[object] = []
    count = commits.append  # one bound method: listen and remove need the same object
    event.listen(runtime.engine, "commit", count)
    try:
        summary = run_campaign(
            runtime.issuing, worker_issuing(runtime.settings), plan, tmp_path / "m.csv"
        )
    finally:
        event.remove(runtime.engine, "commit", count)
    assert (summary.documents, summary.created) == (12, 12)
    assert len(commits) == 3  # three batches of at most 5: documents and audit events together
    with runtime.sessions() as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        report = verify(session)
    assert report.ok, report
    by_document = {d["document_id"]: d["key"] for d in _manifest(tmp_path / "m.csv")}
    assert [by_document[e.document_id] for e in events if e.document_id] == KEYS
