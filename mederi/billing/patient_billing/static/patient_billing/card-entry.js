// Card entry on the patient billing page. The card's number, expiry and security code have no
// name, so the form never posts them to the practice: on submit this script sends them straight
// to the payment gateway's token endpoint (with its publishable key) and posts only the token.
(function () {
  "use strict";
  const form = document.getElementById("card-payment");
  if (!form) return;
  const field = (name) => document.getElementById("card-" + name);
  const token = document.getElementById("id_pay-token");
  const onFile = document.getElementById("id_pay-card");
  const FIELD_OF_CODE = {invalid_number: "number", expired_card: "expiry", invalid_expiry: "expiry",
                         incorrect_cvc: "cvc"};

  function show(name, message) {
    const box = name ? document.getElementById("card-" + name + "-error") : document.getElementById("card-problem");
    box.textContent = message;
    box.hidden = false;
    if (name) field(name).setAttribute("aria-invalid", "true");
  }

  function clearProblems() {
    form.querySelectorAll("[id^='card-'][id$='-error'], #card-problem").forEach((box) => { box.hidden = true; });
    ["number", "expiry", "cvc"].forEach((name) => field(name).removeAttribute("aria-invalid"));
  }

  // The same words the server uses for what a person typed wrong.
  function check(number, expiry, cvc) {
    const problems = [];
    if (!/^\d{12,19}$/.test(number)) problems.push(["number", "Enter the card number: 12 to 19 digits, spaces allowed."]);
    const found = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(expiry);
    if (!found || +found[1] < 1 || +found[1] > 12) problems.push(["expiry", "Write the expiry as MM/YY, e.g. 04/29."]);
    if (!/^\d{3,4}$/.test(cvc)) problems.push(["cvc", "The security code is the 3 or 4 digits on the card."]);
    return {problems, month: found ? +found[1] : 0, year: found ? (+found[2] < 100 ? 2000 + +found[2] : +found[2]) : 0};
  }

  form.addEventListener("submit", async (event) => {
    clearProblems();
    token.value = "";
    const number = field("number").value.replace(/[\s-]/g, "");
    if (onFile && onFile.value && !number) return;  // a card on file: the server charges its token
    event.preventDefault();
    const typed = check(number, field("expiry").value.trim(), field("cvc").value.trim());
    if (typed.problems.length) {
      typed.problems.forEach(([name, message]) => show(name, message));
      field(typed.problems[0][0]).focus();
      return;
    }
    const holder = document.getElementById("id_pay-holder").value.trim();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.gateway + "/v1/tokens", {
        method: "POST",
        headers: {"Authorization": "Bearer " + form.dataset.key, "Content-Type": "application/json"},
        body: JSON.stringify({card: {number, exp_month: typed.month, exp_year: typed.year,
                                     cvc: field("cvc").value.trim(), name: holder}}),
      });
      const body = await response.json();
      if (!response.ok) {
        const error = body.error || {};
        const code = error.decline_code || error.code;
        show(FIELD_OF_CODE[code] || "", "The payment gateway refused the card: " + (error.message || "HTTP " + response.status) + ".");
        button.disabled = false;
        return;
      }
      token.value = body.token;
      ["number", "expiry", "cvc"].forEach((name) => { field(name).value = ""; });
      form.submit();
    } catch (failure) {
      show("", "The payment gateway could not be reached from this browser, so nothing was charged. Try again, or take another way to pay.");
      button.disabled = false;
    }
  });
})();
