// The pipeline board: drag a card (SortableJS) or use its "Move to…" menu; both POST the
// same form to board-move. The card stays where it lands only once the server has saved it.
(function () {
  "use strict";

  const board = document.querySelector(".board");
  if (!board) return;
  const moveUrl = board.dataset.moveUrl;

  function label(status) {
    const title = board.querySelector('.board-column[data-status="' + status + '"] .status-badge');
    return title ? title.textContent.trim() : status;
  }

  function setCounts(counts) {
    Object.keys(counts).forEach(function (status) {
      const el = board.querySelector('[data-count="' + status + '"]');
      if (!el) return;
      const n = counts[status];
      el.textContent = n.toLocaleString();
      el.setAttribute("aria-label", n + (n === 1 ? " lead" : " leads"));
    });
  }

  function setValues(values, amounts) {
    Object.keys(values || {}).forEach(function (status) {
      const el = board.querySelector('[data-value="' + status + '"]');
      if (!el) return;
      el.lastChild.textContent = values[status];
      el.title = amounts[status];
    });
  }

  // Moving a card to Lost asks why (optional): resolves with the reason, or null when the
  // person cancels (the card then goes back).
  const lostDialog = document.getElementById("lost-dialog");
  function askReason(card, status) {
    if (status !== "lost" || !lostDialog || typeof lostDialog.showModal !== "function") {
      return Promise.resolve("");
    }
    const input = lostDialog.querySelector("input[name=reason]");
    lostDialog.querySelector("[data-lost-name]").textContent = card.dataset.name;
    input.value = "";
    lostDialog.returnValue = "";
    return new Promise(function (resolve) {
      lostDialog.addEventListener("close", function onClose() {
        lostDialog.removeEventListener("close", onClose);
        resolve(lostDialog.returnValue === "lost" ? input.value.trim() : null);
      });
      lostDialog.showModal();
      input.focus();
    });
  }

  // Keep the "load more" sentinel last so new pages append after every card.
  function keepSentinelLast(list) {
    const more = list.querySelector(":scope > .board-more");
    if (more && more !== list.lastElementChild) list.appendChild(more);
  }

  function placeCard(card, status) {
    card.dataset.status = status;
    const select = card.querySelector("select[name=status]");
    if (!select) return;
    Array.prototype.forEach.call(select.options, function (option) {
      option.selected = option.value === status;
      option.textContent = option.value === status ? label(option.value) : "Move to " + label(option.value);
    });
  }

  // POST the move; resolve with the server's answer or reject with a message.
  function postMove(card, status, reason) {
    const body = new FormData();
    body.append("lead", card.dataset.id);
    body.append("status", status);
    if (reason) body.append("reason", reason);
    card.setAttribute("aria-busy", "true");
    return fetch(moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": window.crmCsrf(), Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .finally(function () { card.removeAttribute("aria-busy"); });
  }

  function failed(card) {
    window.crmToast("Could not move “" + card.dataset.name + "”: the change was not saved, so it is back where it was.");
  }

  function saved(card, answer) {
    placeCard(card, answer.status);
    setCounts(answer.counts);
    setValues(answer.values, answer.amounts);
  }

  // Drag and drop.
  board.querySelectorAll(".board-cards").forEach(function (list) {
    window.Sortable.create(list, {
      group: "board",
      draggable: ".board-card",
      filter: "select, button, label, .board-more",
      preventOnFilter: false,
      animation: 120,
      ghostClass: "board-card-ghost",
      chosenClass: "board-card-chosen",
      onEnd: function (evt) {
        const card = evt.item;
        const from = evt.from;
        const to = evt.to;
        if (from === to) return; // order inside a column is not saved: it is by newest
        keepSentinelLast(to);
        const oldIndex = evt.oldIndex;
        function putBack() {
          from.insertBefore(card, from.children[oldIndex] || null);
          keepSentinelLast(from);
          placeCard(card, from.dataset.status);
        }
        askReason(card, to.dataset.status).then(function (reason) {
          if (reason === null) { putBack(); return; }
          postMove(card, to.dataset.status, reason)
            .then(function (answer) { saved(card, answer); })
            .catch(function () { putBack(); failed(card); });
        });
      },
    });
  });

  // The keyboard path: each card's "Move to…" menu and its button, through the same POST.
  board.addEventListener("submit", function (event) {
    const form = event.target.closest(".board-move");
    if (!form) return;
    event.preventDefault();
    const card = form.closest(".board-card");
    const select = form.querySelector("select[name=status]");
    const from = card.parentElement;
    const status = select.value;
    if (status === from.dataset.status) return;
    const to = board.querySelector('.board-cards[data-status="' + status + '"]');
    askReason(card, status).then(function (reason) {
      if (reason === null) { placeCard(card, from.dataset.status); select.focus(); return; }
      postMove(card, status, reason)
        .then(function (answer) {
          to.insertBefore(card, to.firstElementChild);
          saved(card, answer);
          select.focus();
          window.crmToast("“" + card.dataset.name + "” moved to " + answer.label + ".", "info");
        })
        .catch(function () {
          placeCard(card, from.dataset.status);
          failed(card);
        });
    });
  });
})();
