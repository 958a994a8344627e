// Leads and companies pages: row selection, the filter bar, inline edits, the create form.
(function () {
  "use strict";

  // --- Filter bar: keep the URL short by leaving out the filters that are not set. ---
  const filters = document.getElementById("lead-filters");
  if (filters) {
    filters.addEventListener("formdata", function (event) {
      const data = event.formData;
      for (const [name, value] of Array.from(data.entries())) {
        if (value === "" || (name === "order" && value === "newest")) data.delete(name);
      }
    });
  }

  // --- Row selection and bulk actions. ---
  const bulk = document.getElementById("bulk-form");
  if (bulk) {
    const all = document.getElementById("select-all");
    const rows = Array.from(bulk.querySelectorAll("input.row-select"));
    const count = document.getElementById("selected-count");
    // "Select all N matching": offered when the whole page is selected; the filters travel
    // in the form and the server finds the leads, so no id list is sent.
    const matching = document.getElementById("select-matching");
    const allMatching = document.getElementById("all-matching");
    const setAllMatching = function (on) {
      allMatching.value = on ? "1" : "";
      if (matching) {
        matching.querySelector('[data-when="page"]').hidden = on;
        matching.querySelector('[data-when="all"]').hidden = !on;
      }
    };
    const refresh = function () {
      const n = rows.filter(function (box) { return box.checked; }).length;
      const whole = n > 0 && n === rows.length;
      if (!whole) setAllMatching(false);
      if (matching) matching.hidden = !whole;
      count.textContent = allMatching.value === "1"
        ? "All matching selected"
        : (n === 0 ? "None selected" : n + " selected");
      bulk.classList.toggle("has-selection", n > 0);
      if (all) {
        all.checked = n > 0 && n === rows.length;
        all.indeterminate = n > 0 && n < rows.length;
      }
      rows.forEach(function (box) { box.closest("tr").classList.toggle("selected", box.checked); });
    };
    if (all) {
      all.addEventListener("change", function () {
        rows.forEach(function (box) { box.checked = all.checked; });
        refresh();
      });
    }
    rows.forEach(function (box) { box.addEventListener("change", refresh); });
    if (matching) {
      document.getElementById("select-all-matching").addEventListener("click", function () {
        setAllMatching(true);
        refresh();
        document.getElementById("clear-all-matching").focus();
      });
      document.getElementById("clear-all-matching").addEventListener("click", function () {
        setAllMatching(false);
        refresh();
        document.getElementById("select-all-matching").focus();
      });
    }
    bulk.addEventListener("submit", function (event) {
      const n = rows.filter(function (box) { return box.checked; }).length;
      const action = event.submitter ? event.submitter.value : "";
      if (n === 0) {
        event.preventDefault();
        window.crmToast("Select at least one lead first.", "info");
      } else if (action === "status" && !document.getElementById("bulk-status").value) {
        event.preventDefault();
        window.crmToast("Choose the new status first.", "info");
        document.getElementById("bulk-status").focus();
      }
    });
    refresh(); // the browser may restore checked boxes on back navigation
  }

  // --- Create form: the new company fields only matter when no company is chosen. ---
  const company = document.querySelector(".company-choice select");
  const newCompany = document.getElementById("new-company");
  if (company && newCompany) {
    // Shown for "+ New company…" only: nothing is chosen until the person picks.
    const toggle = function () { newCompany.hidden = company.value !== "new"; };
    company.addEventListener("change", function () {
      toggle();
      if (newCompany.hidden === false) newCompany.querySelector("input").focus();
    });
    toggle();
    // A company search (leads/_company_finder.html) replaces the options: the choice may change.
    document.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail.elt === company) toggle();
    });
  }

  // --- Inline edits on the lead page (htmx; app.js swaps in 422 re-renders). ---
  // Keep the keyboard where the person is: in the input when editing, on the value after.
  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.elt;
    if (!target || !target.classList || !target.classList.contains("inline-field")) return;
    const field = document.getElementById(target.id);
    if (!field) return;
    const input = field.querySelector("[autofocus]");
    if (input) {
      input.focus();
      if (input.select && input.type !== "number" && input.tagName !== "SELECT") input.select();
    } else {
      const value = field.querySelector(".field-value, .field-edit");
      if (value) value.focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const form = event.target.closest && event.target.closest(".inline-edit");
    if (!form) return;
    event.preventDefault();
    const field = form.closest(".inline-field");
    const cancel = form.querySelector(".inline-cancel");
    // Ask htmx directly: the link may not be wired up yet right after a swap.
    if (field && cancel && window.htmx) {
      window.htmx.ajax("GET", cancel.getAttribute("hx-get"), { target: "#" + field.id, swap: "outerHTML" });
    }
  });
})();
