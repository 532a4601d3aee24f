// Who else has this ticket open, and what others did since the page was drawn:
// a beat every 20 seconds (and one at once), the answer shown in #presence.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("presence");
  if (!box) return;
  const token = document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
  // Writing: typed in the last minute.
  let typedAt = 0;
  document.addEventListener("input", (event) => {
    if (event.target.matches?.("textarea, input[type=text], input[type=number]")) typedAt = Date.now();
  });

  const render = ({ others, changes }) => {
    box.replaceChildren();
    if (others.length) {
      const line = document.createElement("p");
      line.className = "presence-others";
      line.textContent =
        "Also on this ticket: " +
        others.map((o) => (o.writing ? `${o.name} (writing)` : o.name)).join(", ") + ".";
      box.append(line);
    }
    if (changes.length) {
      const note = document.createElement("div");
      note.className = "presence-changes";
      note.setAttribute("role", "alert");
      for (const change of changes) {
        const p = document.createElement("p");
        p.textContent = change.text ? `${change.said}: “${change.text}”` : `${change.said}.`;
        note.append(p);
      }
      const reload = document.createElement("button");
      reload.type = "button";
      reload.className = "button";
      reload.textContent = "Reload the ticket";
      reload.addEventListener("click", () => location.reload());
      note.append(reload);
      box.append(note);
    }
  };

  let timer = null;
  const stop = () => clearInterval(timer);
  const beat = async () => {
    if (document.hidden) return; // a tab in the background says nothing
    const writing = Date.now() - typedAt < 60_000;
    const body = new URLSearchParams({ since: box.dataset.since, writing: writing ? "1" : "0" });
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        credentials: "same-origin",
      });
      const json = (response.headers.get("Content-Type") || "").includes("application/json");
      if (!response.ok || !json) {
        // Signed out, or the ticket is no longer this person's to see: stop asking.
        if ([401, 403, 404].includes(response.status) || !json) stop();
        return;
      }
      render(await response.json());
    } catch {
      // A missed beat (the network): the next one tries again.
    }
  };
  beat();
  timer = setInterval(beat, Number(box.dataset.every || 20) * 1000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) beat();
  });
});
