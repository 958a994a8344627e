// Small helpers every page uses. htmx sends the CSRF token from the body's hx-headers.
(function () {
  "use strict";

  // A message in the page's live region: errors are announced, then fade after a while.
  window.crmToast = function (text, kind) {
    const toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = text;
    toast.dataset.kind = kind || "error";
    toast.hidden = false;
    clearTimeout(toast._timer);
    toast._timer = setTimeout(function () { toast.hidden = true; }, 6000);
  };

  window.crmCsrf = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // An htmx request that failed: say so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (xhr && xhr.status === 422) return; // a form re-rendered with its errors
    window.crmToast("That did not work (" + (xhr ? xhr.status : "network") + "). Nothing was changed.");
  });
  document.addEventListener("htmx:sendError", function () {
    window.crmToast("The server could not be reached. Nothing was changed.");
  });
})();
