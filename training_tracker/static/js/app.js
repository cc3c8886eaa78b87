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
