// Progressive enhancement only: every page works without this file.
//
// A form with data-busy-message shows that message in a live region and disables its
// buttons once submitted, so a long import is visibly under way and a second click cannot
// send it twice.
(function () {
  "use strict";

  // After a refused form, take keyboard and screen-reader users to the list of what to fix.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  });
  // The report form: when another course is chosen, the date picker starts where that course
  // began and the certificate hint says whether the course issues one. The server checks both
  // whatever the browser does; the select's data attributes name the elements and the texts.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-course-select")) {
      return;
    }
    var option = select.options[select.selectedIndex];
    var dateInput = document.getElementById(select.dataset.dateInput || "");
    if (dateInput) {
      var from = option ? option.dataset.availableFrom : "";
      if (from) {
        dateInput.min = from;
      } else {
        dateInput.removeAttribute("min");
      }
    }
    var hint = document.getElementById(select.dataset.certificateHint || "");
    if (hint) {
      var none = option && option.dataset.certificate === "none";
      hint.textContent = none ? select.dataset.hintNoCertificate : select.dataset.hintCertificate;
    }
  });

  // The group record's attendee list: a filter box narrows the list as one types, and "tick
  // all shown" / "remove the ticks" act on the people shown, here in the page. Without this
  // file the search form above narrows the list and the two buttons post the form back.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-attendee-filter]").forEach(function (box) {
      var list = document.getElementById(box.dataset.attendeeFilter || "");
      var input = box.querySelector("input");
      var status = box.querySelector("[data-filter-status]");
      if (!list || !input) {
        return;
      }
      box.hidden = false;
      var items = Array.prototype.slice.call(list.querySelectorAll("li"));
      var timer = 0;
      input.addEventListener("input", function () {
        var words = input.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
        var shown = 0;
        items.forEach(function (item) {
          var text = item.textContent.toLocaleLowerCase();
          var match = words.every(function (word) { return text.indexOf(word) !== -1; });
          item.hidden = !match;
          shown += match ? 1 : 0;
        });
        // Said once typing pauses, not at every key.
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          if (status) {
            status.textContent = words.length
              ? (status.dataset.template || "").replace("{shown}", String(shown))
              : "";
          }
        }, 400);
      });
    });
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target instanceof Element ? target.closest("[data-select-shown]") : null;
    var list = button ? document.getElementById("attendee-list") : null;
    if (!button || !list) {
      return;
    }
    event.preventDefault();
    var tick = button.getAttribute("data-select-shown") === "on";
    list.querySelectorAll("li").forEach(function (item) {
      var box = item.querySelector("input[type=checkbox]");
      if (box && !item.hidden) {
        box.checked = tick;
      }
    });
  });

  // "Select all" on an attendance list: ticks (or unticks) the form's boxes of that name. The
  // box is a field of its own too, so the server records everyone without this script.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll || !box.form) {
      return;
    }
    box.form.querySelectorAll("input[type=checkbox][name='" + box.dataset.selectAll + "']").forEach(
      function (other) {
        if (!other.disabled) {
          other.checked = box.checked;
        }
      }
    );
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.busyMessage) {
      return;
    }
    var submitter = event.submitter;
    if (submitter && submitter.dataset.busy === "off") {
      return;
    }
    var status = document.getElementById(form.dataset.busyTarget || "");
    if (status) {
      status.hidden = false;
      var text = status.querySelector("[data-busy-text]") || status;
      text.textContent = form.dataset.busyMessage;
    }
    // Disable after the browser has read the submitter's name and value.
    window.setTimeout(function () {
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  });
})();
