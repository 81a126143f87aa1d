// Back-office keyboard review: j/k move, a accept, r reject, e edit, Enter confirm, n next.
// Every action also works without this file: each row has its own forms and buttons.
// Loaded in the head without `defer`, so that its keys are bound before any row is shown:
// keys pressed while the rest of the page is still parsed wait and run once it is ready.
"use strict";

(function () {
  var rows = [];
  var current = -1;
  var decide = null;
  var KEYS = ["j", "k", "a", "r", "e", "Enter", "n"];
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

  function stage(decision) {
    var row = rows[current];
    if (!row || row.getAttribute("data-waiting") !== "1" || !decide) {
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

  function edit() {
    var row = rows[current];
    var input = row && row.querySelector("form.edit input[name=value]");
    if (input) {
      input.focus();
      input.select();
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
    var first = nextWaiting(-1);
    select(first >= 0 ? first : 0);
    ready(onKey);
  });
})();
