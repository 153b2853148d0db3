// Gatehouse console: the copy button, confirmation dialogs, and a new key
// wiped from the page when the page is left. Every form works without it.
"use strict";
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById("copy-status");
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = "Copied";
        button.dataset.copied = "true";
        if (status) status.textContent = "The key is on your clipboard.";
      }, function () {
        field.select();
        if (status) status.textContent = "Copying was refused: press Ctrl+C (⌘C) to copy the selected key.";
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // The expiry select and its date stay in step: a date chooses "On a
  // date", and another choice clears the date.
  var expires = document.getElementById("expires"), expiresOn = document.getElementById("expires_on");
  if (expires && expiresOn) {
    expiresOn.addEventListener("input", function () { if (expiresOn.value) expires.value = "date"; });
    expires.addEventListener("change", function () { if (expires.value !== "date") expiresOn.value = ""; });
  }
  document.querySelectorAll("input.secret").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
  // A page that showed a key never shows it again from the history.
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-secret]").forEach(function (el) { el.value = ""; });
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector("[data-secret]")) window.location.replace(document.querySelector("a[href$='/keys']").href);
  });
})();
