// "Copy the customer's link" on the ticket page: the case page's address to
// the clipboard, with word of it for screen readers. A file, not inline: the
// Content-Security-Policy allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("copy-case-link");
  const field = document.getElementById("case-link");
  const said = document.getElementById("case-link-copied");
  if (!button || !field || !said) return;
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      said.textContent = "Copied. Anyone with this link sees the case: send it only to the customer.";
    } catch (error) {
      said.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  });
});
