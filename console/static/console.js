// sessiond console: the only script. It follows a running verification
// and asks before revoking every session of a user. Every page works
// without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("revoke-all");
  if (all) {
    all.addEventListener("submit", function (ev) {
      if (!window.confirm("Revoke every active session of this user?")) {
        ev.preventDefault();
      }
    });
  }

  var box = document.getElementById("verify");
  if (!box || box.dataset.done === "true") {
    return;
  }
  var url = box.dataset.statusUrl;
  var bar = document.getElementById("verify-progress");
  var count = document.getElementById("verify-count");
  var outcome = document.getElementById("verify-outcome");
  var words = document.getElementById("verify-words");
  var result = document.getElementById("verify-result");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (s) {
        bar.max = s.total || 1;
        bar.value = s.checked;
        bar.textContent = s.checked + " of " + s.total;
        count.textContent = s.checked + " of " + s.total + " positions checked";
        outcome.textContent = s.outcome;
        words.textContent = s.words;
        result.className = "alert alert-" + s.outcome;
        if (!s.done) {
          window.setTimeout(poll, 300);
        } else {
          box.dataset.done = "true";
        }
      })
      .catch(function (err) {
        words.textContent = "Progress could not be read (" + err.message + "); reload the page.";
      });
  }
  poll();
});
