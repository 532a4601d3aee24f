// A saved reply chosen in a picker goes into its form's message, filled for
// the ticket by the server (the JSON beside the picker); the form remembers
// which reply it started from, and the cursor waits in the text to edit it.
document.addEventListener("DOMContentLoaded", () => {
  for (const picker of document.querySelectorAll("select[data-saved-replies]")) {
    const source = document.getElementById(picker.dataset.savedReplies);
    if (!source) continue;
    const replies = JSON.parse(source.textContent);
    picker.addEventListener("change", () => {
      const reply = replies.find((r) => String(r.id) === picker.value);
      if (!reply) return;
      const form = picker.closest("form");
      const text = form.querySelector(`[name="${reply.field}"]`);
      const started = form.querySelector('[name="saved_reply"]');
      if (!text) return;
      text.value = reply.text;
      if (started) started.value = reply.id;
      text.focus();
    });
  }
});
