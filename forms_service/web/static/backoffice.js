// Back-office keyboard review: j/k move, u next uncertain line, a accept, r reject, e edit
// (the first doubtful character selected), Enter confirm, A approve all valid lines, s/t keep
// the source or take the answer of a conflict, z zoom the scan, n next change set.
// Every action also works without this file: each row has its own forms and buttons.
// Loaded in the head without `defer`, so that its keys are bound before any row is shown:
// keys pressed while the rest of the page is still parsed wait and run once it is ready.
"use strict";

(function () {
  var rows = [];
  var current = -1;
  var decide = null;
  var KEYS = ["j", "k", "u", "a", "r", "e", "Enter", "A", "s", "t", "z", "n"];
  var handler = null;
  var early = [];

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function select(index) {
    if (!rows.length) {
      return;
    }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) {
      rows[current].classList.remove("current");
      rows[current].removeAttribute("aria-current");
    }
    current = index;
    var row = rows[current];
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    row.scrollIntoView({ block: "nearest" });
  }

  function nextWaiting(from) {
    for (var i = from + 1; i < rows.length; i += 1) {
      if (rows[i].getAttribute("data-waiting") === "1" && !rows[i].hasAttribute("data-staged")) {
        return i;
      }
    }
    return -1;
  }

  function announce(sentence, field) {
    var status = document.getElementById("staged-status");
    if (status && sentence) {
      status.textContent = sentence.replace("{field}", field);
    }
  }

  function stage(decision) {
    var row = rows[current];
    if (!row || row.getAttribute("data-waiting") !== "1" || !decide) {
      return;
    }
    if (row.hasAttribute("data-choice")) {
      // A conflict is settled by a choice (s, t, e), never staged by the accept key: the
      // server refuses it too.
      var table = document.querySelector("table.review");
      announce(table && table.getAttribute("data-needs-choice"), row.getAttribute("data-field"));
      row.setAttribute("data-refused", decision);
      return;
    }
    var field = row.getAttribute("data-field");
    var input = decide.querySelector('input[data-field="' + CSS.escape(field) + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.setAttribute("data-field", field);
      decide.appendChild(input);
    }
    input.name = decision;
    input.value = field;
    row.setAttribute("data-staged", decision);
    var status = document.getElementById("staged-status");
    if (status) {
      // The page's own language: the sentence is on the table, with {field} to fill in.
      var table = document.querySelector("table.review");
      var sentence = table && table.getAttribute("data-staged-" + decision);
      status.textContent = sentence ? sentence.replace("{field}", field) : field + ": " + decision;
    }
    var following = nextWaiting(current);
    if (following >= 0) {
      select(following);
    }
  }

  function nextUncertain() {
    // The next line worth a look after the current one, from the top again at the end.
    for (var step = 1; step <= rows.length; step += 1) {
      var index = (current + step) % rows.length;
      var row = rows[index];
      if (row.getAttribute("data-uncertain") === "1" && row.getAttribute("data-waiting") === "1") {
        select(index);
        return;
      }
    }
  }

  function edit() {
    var row = rows[current];
    var input = row && row.querySelector("form.edit input[name=value]");
    if (input) {
      input.focus();
      var at = parseInt(input.getAttribute("data-doubtful-at") || "", 10);
      if (at >= 0 && at < input.value.length) {
        // One doubtful character: typing its correction replaces just it.
        input.setSelectionRange(at, at + 1);
      } else {
        input.select();
      }
    }
  }

  function submitOf(selector) {
    var form = document.querySelector(selector);
    if (form) {
      form.submit();
    }
  }

  function keepSource() {
    var row = rows[current];
    var form = row && row.hasAttribute("data-choice") && row.querySelector("form.keep-source");
    if (form) {
      form.submit();
    }
  }

  function takeAnswer() {
    var row = rows[current];
    var reason = row && row.hasAttribute("data-choice") && row.querySelector("form.take-answer input[name=reason]");
    if (reason) {
      reason.focus();
    }
  }

  function zoom(field) {
    var image = document.querySelector('img[data-crop="' + CSS.escape(field) + '"]');
    var button = document.querySelector('button[data-zoom="' + CSS.escape(field) + '"]');
    if (!image || !image.naturalWidth) {
      return;
    }
    var zoomed = image.getAttribute("data-zoomed") === "1";
    image.style.width = zoomed ? "" : image.naturalWidth * 2 + "px";
    image.setAttribute("data-zoomed", zoomed ? "0" : "1");
    if (button) {
      button.setAttribute("aria-pressed", zoomed ? "false" : "true");
    }
  }

  function confirm() {
    if (decide && decide.querySelector("input[data-field]")) {
      decide.submit();
    }
  }

  function nextChangeSet() {
    var link = document.getElementById("next-change-set");
    if (link) {
      window.location.assign(link.href);
    }
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (typing(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    switch (event.key) {
      case "j":
        select(current + 1);
        break;
      case "k":
        select(current - 1);
        break;
      case "a":
        stage("accept");
        break;
      case "r":
        stage("reject");
        break;
      case "e":
        edit();
        break;
      case "u":
        nextUncertain();
        break;
      case "A":
        submitOf("#approve-valid");
        break;
      case "s":
        keepSource();
        break;
      case "t":
        takeAnswer();
        break;
      case "z":
        if (rows[current]) {
          zoom(rows[current].getAttribute("data-field"));
        }
        break;
      case "Enter":
        if (event.target && (event.target.tagName === "A" || event.target.tagName === "BUTTON")) {
          return;
        }
        confirm();
        break;
      case "n":
        nextChangeSet();
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  function onQueueKey(event) {
    // The queue: `n` opens the first change set waiting.
    if (event.key === "n" && !typing(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      nextChangeSet();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (handler) {
      handler(event);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || KEYS.indexOf(event.key) < 0) {
      return;
    }
    // Before the rows are known: kept, in order, for when the page is ready.
    event.preventDefault();
    early.push({
      key: event.key,
      target: event.target,
      ctrlKey: false,
      metaKey: false,
      altKey: false,
      preventDefault: function () {},
    });
  });

  function ready(chosen) {
    handler = chosen;
    early.splice(0).forEach(function (event) {
      handler(event);
    });
    document.documentElement.setAttribute("data-keys", "ready");
  }

  document.addEventListener("DOMContentLoaded", function () {
    rows = Array.prototype.slice.call(document.querySelectorAll("table.review tr.change"));
    decide = document.getElementById("decide");
    if (!rows.length) {
      ready(onQueueKey);
      return;
    }
    var live = document.createElement("p");
    live.id = "staged-status";
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    document.querySelector("table.review").after(live);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-zoom]"), function (button) {
      button.addEventListener("click", function () {
        zoom(button.getAttribute("data-zoom"));
      });
    });
    var first = nextWaiting(-1);
    select(first >= 0 ? first : 0);
    ready(onKey);
  });
})();
