// Who else has this ticket open, and what others did since the page was drawn:
// a beat every 20 seconds (and one at once), the answer shown in #presence.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("presence");
  if (!box) return;
  const token = document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
  let writing = false;
  document.addEventListener("input", (event) => {
    if (event.target.matches?.("textarea, input[type=text], input[type=number]")) writing = true;
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

  const beat = async () => {
    const body = new URLSearchParams({ since: box.dataset.since, writing: writing ? "1" : "0" });
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      });
      if (response.ok) render(await response.json());
    } catch {
      // A missed beat: the next one tries again.
    }
  };
  beat();
  setInterval(beat, Number(box.dataset.every || 20) * 1000);
});
