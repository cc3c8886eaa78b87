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
