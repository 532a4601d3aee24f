// The 60–120% guidance, live as the agent types the customer's loss. The
// server gives the same figures after a grant; this only saves a round trip.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("restitution-form");
  if (!form) return;
  const loss = form.querySelector("[name=customer_loss]");
  const amount = form.querySelector("[name=amount]");
  const currency = form.querySelector("[name=currency]");
  const out = document.getElementById("guidance");
  const show = () => {
    const value = parseFloat(loss.value);
    out.classList.remove("warn");
    if (!(value > 0)) { out.textContent = ""; return; }
    const low = (value * 0.6).toFixed(2), high = (value * 1.2).toFixed(2);
    let text = `Suggested: ${low} to ${high} ${currency.value.toUpperCase()} (60 to 120% of the loss).`;
    const given = parseFloat(amount.value);
    if (given > value * 1.5) {
      text += " More than 150% of the loss stops helping and can make the customer uneasy.";
      out.classList.add("warn");
    }
    out.textContent = text;
  };
  [loss, amount, currency].forEach((el) => el.addEventListener("input", show));
  show();
});
