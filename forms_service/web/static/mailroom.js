// Mailroom exception queue: a "select every page shown" button, Shift+click ticks a run of
// pages, and the count of pages ticked. Everything also works without this file: each page
// has its own checkbox, and the bulk buttons send the ticked ones.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-select]"));
  var legend = document.querySelector("fieldset.bulk legend");
  var count = document.querySelector("[data-selected-count]");
  if (!boxes.length || !legend) {
    return;
  }
  var lang = document.documentElement.lang || "fr";
  var words = lang.indexOf("en") === 0
    ? {all: "Select every page shown", none: "Clear the selection", one: "page selected", many: "pages selected"}
    : {all: "Sélectionner toutes les pages affichées", none: "Vider la sélection", one: "page sélectionnée", many: "pages sélectionnées"};

  function ticked() {
    return boxes.filter(function (box) { return box.checked; }).length;
  }

  function show() {
    var n = ticked();
    count.textContent = n ? "(" + n + " " + (n > 1 ? words.many : words.one) + ")" : "";
    toggle.textContent = n === boxes.length ? words.none : words.all;
  }

  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.setAttribute("data-select-all", "");
  toggle.addEventListener("click", function () {
    var on = ticked() !== boxes.length;
    boxes.forEach(function (box) { box.checked = on; });
    show();
  });
  legend.parentNode.insertBefore(toggle, legend.nextSibling);

  var last = null;
  boxes.forEach(function (box, index) {
    box.addEventListener("click", function (event) {
      if (event.shiftKey && last !== null) {
        var low = Math.min(last, index);
        var high = Math.max(last, index);
        for (var i = low; i <= high; i += 1) {
          boxes[i].checked = box.checked;
        }
      }
      last = index;
      show();
    });
  });
  show();
});
