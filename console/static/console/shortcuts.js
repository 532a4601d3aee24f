// Keyboard shortcuts of the console, listed on "?" (the dialog in the page).
// Never while typing in a field, never with Ctrl, Alt or Meta held.
(() => {
  const QUEUE_KEY = "console.queue";

  const typing = (element) =>
    element && (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  // The queue remembers its rows (in this tab), so a ticket page knows the next and previous.
  const queueRows = () => [...document.querySelectorAll("#result_list tbody tr")];
  const rowLink = (row) => row.querySelector("th a, td a");

  function rememberQueue() {
    const rows = queueRows();
    if (!rows.length) return;
    const links = rows.map((row) => rowLink(row)?.getAttribute("href")).filter(Boolean);
    sessionStorage.setItem(QUEUE_KEY, JSON.stringify({ queue: location.pathname + location.search, links }));
  }

  function storedQueue() {
    try {
      return JSON.parse(sessionStorage.getItem(QUEUE_KEY)) || null;
    } catch {
      return null;
    }
  }

  let current = -1;
  function focusRow(index) {
    const rows = queueRows();
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("keyboard-current", i === current));
    rowLink(rows[current])?.focus();
  }

  function stepInQueue(delta) {
    const stored = storedQueue();
    if (!stored) return;
    const here = stored.links.indexOf(location.pathname);
    const next = stored.links[here + delta];
    if (here >= 0 && next) location.assign(next);
  }

  function messageBox(mode) {
    const form = document.getElementById("reply-form");
    const box = form?.querySelector("textarea[name=body]");
    if (!box) return;
    form.dataset.mode = mode;
    box.placeholder = mode === "note" ? "An internal note (Ctrl+Enter adds it)" : "A reply to the customer (Ctrl+Enter previews it)";
    box.focus();
  }

  const onQueue = () => queueRows().length > 0;
  const actions = {
    "?": () => document.getElementById("shortcuts")?.showModal(),
    j: () => (onQueue() ? focusRow(current + 1) : stepInQueue(1)),
    k: () => (onQueue() ? focusRow(current - 1) : stepInQueue(-1)),
    o: () => {
      const rows = queueRows();
      if (current >= 0 && rows[current]) rowLink(rows[current])?.click();
    },
    r: () => messageBox("reply"),
    n: () => messageBox("note"),
    s: () => document.querySelector(".transitions a.button:not(.blocked)")?.click(),
    u: () => {
      const stored = storedQueue();
      location.assign(stored?.queue || document.querySelector(".console-menu a")?.getAttribute("href") || "/console/");
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.key === "Enter" && event.target.closest?.("#reply-form")) {
      const form = event.target.closest("#reply-form");
      const button = form.querySelector(form.dataset.mode === "note" ? "[name=note]" : "[name=preview]");
      button?.click();
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  document.addEventListener("DOMContentLoaded", rememberQueue);
})();
