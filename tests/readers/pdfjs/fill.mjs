// Fill PDF forms and save them with pdf.js, the PDF reader built into Firefox.
//
// This drives pdf.js's own code the way Firefox's viewer does: the annotation layer puts
// what the customer types or clicks into the document's annotationStorage (text fields
// {value: "..."}, checkboxes {value: true|false} on every widget of the field, radio buttons
// {value: true} on the chosen widget and false on the others, lists {value: "x" | ["x", "y"]}),
// and the viewer's Save calls PDFDocumentProxy.saveDocument(), which writes an incremental
// update with new /V entries and appearance streams. With nothing typed, Firefox saves the
// original bytes (getData()), and so does this script.
//
// Usage: node fill.mjs < jobs.json
//   jobs.json: [{"input": "in.pdf", "output": "out.pdf",
//                "values": {"<full field name>": "text" | "/<state>" | ["<export>", ...]}}]
// Prints one JSON line: {"pdfjs": "<version>", "jobs": [{"output", "set": [...]}]}.
// A value naming a field or a state that the PDF does not have is an error (exit code 2).

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// pdf.js reports warnings with console.log: keep stdout for this script's answer.
console.log = console.error;

// pdf.js 5 loads @napi-rs/canvas (DOMMatrix, Path2D) through process.getBuiltinModule, which
// Node has from 20.16 on; Debian 12's Node 18 lacks it, so hand pdf.js the same classes.
if (typeof process.getBuiltinModule !== "function") {
  const canvas = await import("@napi-rs/canvas");
  globalThis.DOMMatrix ??= canvas.DOMMatrix;
  globalThis.ImageData ??= canvas.ImageData;
  globalThis.Path2D ??= canvas.Path2D;
}
const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");

const here = new URL(".", import.meta.url);
const standardFontDataUrl = fileURLToPath(
  new URL("node_modules/pdfjs-dist/standard_fonts/", here),
);

class FillError extends Error {}

async function widgetsByName(document) {
  const byName = new Map();
  for (let number = 1; number <= document.numPages; number++) {
    const page = await document.getPage(number);
    for (const annotation of await page.getAnnotations({ intent: "display" })) {
      if (annotation.subtype !== "Widget" || !annotation.fieldName) continue;
      if (!byName.has(annotation.fieldName)) byName.set(annotation.fieldName, []);
      byName.get(annotation.fieldName).push(annotation);
    }
  }
  return byName;
}

function setField(storage, name, widgets, value) {
  const [first] = widgets;
  if (Array.isArray(value) || first.fieldType === "Ch") {
    // The viewer's <select>: the export value, or the list of them for a multi-select.
    for (const widget of widgets) storage.setValue(widget.id, { value });
    return;
  }
  if (first.fieldType === "Tx") {
    // The viewer's <input>/<textarea> "input" event, copied to the sibling widgets.
    for (const widget of widgets) storage.setValue(widget.id, { value });
    return;
  }
  if (first.fieldType !== "Btn" || typeof value !== "string" || !value.startsWith("/")) {
    throw new FillError(`${name}: cannot put ${JSON.stringify(value)} in a ${first.fieldType}`);
  }
  const state = value.slice(1);
  if (first.radioButton) {
    // RadioButtonWidgetAnnotationElement "change": every radio of the name off, the one on.
    if (!widgets.some((widget) => widget.buttonValue === state)) {
      throw new FillError(`${name}: no radio button with the state ${state}`);
    }
    for (const widget of widgets) storage.setValue(widget.id, { value: false });
    for (const widget of widgets) {
      if (widget.buttonValue === state) storage.setValue(widget.id, { value: true });
    }
    return;
  }
  if (first.checkBox) {
    // CheckboxWidgetAnnotationElement "change": same-named boxes follow by export value.
    if (state !== "Off" && !widgets.some((widget) => widget.exportValue === state)) {
      throw new FillError(`${name}: no checkbox with the state ${state}`);
    }
    for (const widget of widgets) {
      storage.setValue(widget.id, { value: widget.exportValue === state });
    }
    return;
  }
  throw new FillError(`${name}: a push button cannot be filled`);
}

async function fill(job) {
  const data = new Uint8Array(readFileSync(job.input));
  const document = await pdfjs.getDocument({
    data,
    standardFontDataUrl,
    isEvalSupported: false,
    enableXfa: true, // as in Firefox (pdfjs.enableXfa); hybrids are still filled as AcroForms
  }).promise;
  try {
    const byName = await widgetsByName(document);
    const set = [];
    for (const [name, value] of Object.entries(job.values)) {
      const widgets = byName.get(name);
      if (!widgets) throw new FillError(`${name}: no such field in ${job.input}`);
      setField(document.annotationStorage, name, widgets, value);
      set.push(name);
    }
    const saved =
      document.annotationStorage.size > 0 ? await document.saveDocument() : await document.getData();
    writeFileSync(job.output, saved);
    return { output: job.output, set };
  } finally {
    await document.destroy();
  }
}

const jobs = JSON.parse(readFileSync(0, "utf8"));
try {
  const results = [];
  for (const job of jobs) results.push(await fill(job));
  process.stdout.write(`${JSON.stringify({ pdfjs: pdfjs.version, jobs: results })}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof FillError ? error.message : error.stack}\n`);
  process.exit(2);
}
