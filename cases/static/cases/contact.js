// The contact form: the browser's time zone, so the times we write the
// customer are theirs. A file, not inline: the CSP allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.getElementById("id_time_zone");
  if (field && !field.value) {
    try {
      field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      field.value = "";
    }
  }
});
