/* The API keys page: a Copy button beside the private key shown once. Without it the
   key can still be selected and copied by hand. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var done = button.parentNode.querySelector("[data-copied]");
      if (!field) return;
      field.addEventListener("focus", function () { field.select(); });
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          if (done) done.hidden = false;
        }, function () {
          field.focus();
        });
      });
    });
  });
})();
