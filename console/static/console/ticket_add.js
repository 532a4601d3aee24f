// The new-ticket form: a known customer's email fills in their name, so it is
// never asked again (the server keeps a known customer's name in any case).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("ticket-add-form");
  const email = form?.querySelector("[name=customer_email]");
  const name = form?.querySelector("[name=customer_name]");
  if (!email || !name) return;
  email.addEventListener("change", async () => {
    const address = email.value.trim();
    if (!address.includes("@")) return;
    const url = `${form.dataset.lookup}?email=${encodeURIComponent(address)}`;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const found = await response.json();
      if (found.known && !name.value.trim()) {
        name.value = found.name;
      }
    } catch {
      // Offline or refused: the agent types the name, as before.
    }
  });
});
