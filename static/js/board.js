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
  function postMove(card, status) {
    const body = new FormData();
    body.append("lead", card.dataset.id);
    body.append("status", status);
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
        postMove(card, to.dataset.status)
          .then(function (answer) { saved(card, answer); })
          .catch(function () {
            from.insertBefore(card, from.children[oldIndex] || null);
            keepSentinelLast(from);
            placeCard(card, from.dataset.status);
            failed(card);
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
    postMove(card, status)
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
})();
