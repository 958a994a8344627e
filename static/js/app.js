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

  // <form data-confirm="…">: ask before a destructive submit (no inline handlers: CSP-ready).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // <button data-filters-toggle="form id">: on a phone the filters beyond the search fold
  // away behind this button (CSS hides them unless the form has the "open" class).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-filters-toggle]");
    if (!button) return;
    const form = document.getElementById(button.dataset.filtersToggle);
    if (!form) return;
    const open = form.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // <button data-copy-target="id">: copy that element's text.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copyTarget);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        window.crmToast("Copied.", "info");
      });
    }
  });

  // 422 is this app's answer for a form re-rendered with its errors: swap it in like a
  // success, on every page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

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
