/* The customers' pages' help (every page works the same without it).
 *
 * - A page with an error summary puts the focus on it.
 * - The answer in progress is saved on the server as the customer goes (and resumed).
 * - A text with a length limit gets a counter ("You have 3 characters left", or "2 characters
 *   too many"): no `maxlength`, so that a pasted text is never cut without a word; the
 *   server refuses a longer one, saying the limit.
 * - A field that another confirms (a postcode, confirmed by its city) asks the server what
 *   its value suggests, by a POST with the page's CSRF token (never in an address): the
 *   commune is offered for the city, and a city that does not match is flagged before the
 *   answer is sent (from the page's load on: a refused or resumed answer is checked too).
 * Messages come from the form's data attributes, in the page's language; announcements go
 * through polite live regions.
 */
(function () {
  "use strict";

  // A page that refused an answer starts at its error summary, so that it is read first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  var form = document.querySelector("form.answer");
  if (!form) {
    return;
  }
  var lang = document.documentElement.lang || "fr";
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function say(name, values) {
    var text = form.getAttribute("data-" + name) || "";
    return text.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function counted(kind, num) {
    var form_ = plurals ? plurals.select(num) : num === 1 ? "one" : "other";
    return say(kind + "-" + (form_ === "one" ? "one" : "other"), { num: num });
  }

  function describe(input, id) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(id) < 0) {
      ids.push(id);
      input.setAttribute("aria-describedby", ids.join(" "));
    }
  }

  function note(input, suffix, className) {
    var id = input.id + "-" + suffix;
    var element = document.getElementById(id);
    if (!element) {
      element = document.createElement("p");
      element.id = id;
      element.className = className;
      element.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", element);
      describe(input, id);
    }
    return element;
  }

  // The answer in progress is kept on the server (web/public/views.py `draft`): at most a
  // second after a change, and when the page is left; reopening the link resumes it.
  var draftUrl = form.getAttribute("data-draft");
  if (draftUrl && window.fetch && window.FormData) {
    var draftStatus = document.getElementById("draft-status");
    var saving = null;
    var dirty = false;
    // A file chosen (a RIB) goes with the next save only: the server keeps it with the draft.
    var fileChosen = false;
    var draftData = function (withFile) {
      var data = new FormData(form);
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
        if (!withFile || !input.files.length) {
          data.delete(input.name);
        }
      });
      return data;
    };
    var saveDraft = function () {
      saving = null;
      if (!dirty) {
        return;
      }
      dirty = false;
      var data = draftData(fileChosen);
      fileChosen = false;
      fetch(draftUrl, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (answer && draftStatus) {
            draftStatus.textContent = answer.status;
          }
        })
        .catch(function () {
          dirty = true; // kept for the next change or the page's leaving
        });
    };
    var changed = function (event) {
      if (event && event.target && event.target.type === "file") {
        fileChosen = true;
      }
      dirty = true;
      if (!saving) {
        saving = window.setTimeout(saveDraft, 1000);
      }
    };
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () {
      dirty = false;
      window.clearTimeout(saving);
    });
    window.addEventListener("pagehide", function () {
      if (dirty && navigator.sendBeacon) {
        navigator.sendBeacon(draftUrl, draftData(false)); // a beacon is too small for a file
        dirty = false;
      }
    });
  }

  // Counters.
  Array.prototype.forEach.call(form.querySelectorAll("[data-maxlength]"), function (input) {
    var limit = parseInt(input.getAttribute("data-maxlength"), 10);
    if (!(limit > 0)) {
      return;
    }
    var counter = note(input, "count", "count");
    var timer = null;
    function update() {
      var left = limit - Array.from(input.value).length;
      counter.textContent = left >= 0 ? counted("left", left) : counted("over", -left);
      counter.classList.toggle("over", left < 0);
    }
    // Announced once typing pauses, not at every key.
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 400);
    });
    update();
  });

  // What a value suggests for the field it confirms.
  var csrf = form.querySelector("input[name=csrf_token]");
  Array.prototype.forEach.call(form.querySelectorAll("[data-confirms]"), function (input) {
    var other = document.getElementById(input.getAttribute("data-confirms"));
    if (!other || !window.fetch) {
      return;
    }
    var list = document.createElement("datalist");
    list.id = other.id + "-suggestions";
    other.insertAdjacentElement("afterend", list);
    other.setAttribute("list", list.id);
    var hint = note(other, "check", "check");
    var asked = 0;

    function ask() {
      var question = ++asked;
      if (!input.value.trim()) {
        hint.textContent = "";
        return;
      }
      fetch(form.getAttribute("data-assist"), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": csrf ? csrf.value : "",
        },
        body: JSON.stringify({
          form: form.getAttribute("data-form"),
          field: input.name,
          value: input.value,
          other: other.value,
        }),
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (question !== asked) {
            return; // a later question was asked meanwhile
          }
          show(answer);
        })
        .catch(function () {
          hint.textContent = "";
        });
    }

    function show(answer) {
      list.textContent = "";
      hint.textContent = "";
      hint.classList.remove("mismatch");
      if (!answer || !answer.valid || !answer.suggestion) {
        return;
      }
      var values = { postcode: input.value.trim(), locality: answer.suggestion };
      var option = document.createElement("option");
      option.value = answer.suggestion;
      list.appendChild(option);
      if (answer.verdict === "confirmed") {
        return;
      }
      var text = document.createElement("span");
      var mismatch = Boolean(other.value.trim());
      text.textContent = say(mismatch ? "mismatch" : "suggest", values) + " ";
      hint.appendChild(text);
      hint.classList.toggle("mismatch", mismatch);
      var use = document.createElement("button");
      use.type = "button";
      use.className = "link";
      use.textContent = say("use", values);
      use.addEventListener("click", function () {
        other.value = answer.suggestion;
        other.focus();
        ask();
      });
      hint.appendChild(use);
    }

    input.addEventListener("change", ask);
    input.addEventListener("input", function () {
      if (/^\s*\d{5}\s*$/.test(input.value)) {
        ask();
      }
    });
    other.addEventListener("change", ask);
    // A page shown again (refused, resumed) or typed into before this script ran is checked
    // as it stands.
    ask();
  });
})();
