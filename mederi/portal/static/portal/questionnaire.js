// Shows and hides the questions of a questionnaire that apply only after some answer (FHIR enableWhen)
// while the patient fills it in. The server decides again when the form is sent: this only saves a trip.
(function () {
  "use strict";

  function valuesOf(form, name) {
    var control = form.elements.namedItem(name);
    if (!control) { return []; }
    var controls = control.length !== undefined && !control.tagName ? Array.prototype.slice.call(control) : [control];
    return controls.filter(function (el) {
      if (el.disabled) { return false; }
      if (el.type === "radio" || el.type === "checkbox") { return el.checked; }
      return el.value.trim() !== "";
    }).map(function (el) { return el.value; });
  }

  function holds(form, rule) {
    var values = valuesOf(form, rule.name);
    if (rule.op === "exists") { return (values.length > 0) === rule.on; }
    if (!values.length) { return false; }
    var equal = values.some(function (value) { return rule.values.indexOf(value) !== -1; });
    return rule.op === "=" ? equal : !equal;
  }

  function update(form) {
    var items = form.querySelectorAll("[data-enable-when]");
    // A question can depend on another conditional one: repeat until nothing changes.
    for (var pass = 0; pass < 5; pass += 1) {
      var changed = false;
      Array.prototype.forEach.call(items, function (item) {
        var when = JSON.parse(item.getAttribute("data-enable-when"));
        var results = when.rules.map(function (rule) { return holds(form, rule); });
        var on = when.behavior === "any" ? results.indexOf(true) !== -1 : results.indexOf(false) === -1;
        if (item.hidden === on) { item.hidden = !on; changed = true; }
      });
      Array.prototype.forEach.call(form.querySelectorAll("input, textarea, select"), function (el) {
        el.disabled = el.closest("[data-enable-when][hidden]") !== null;
      });
      if (!changed) { break; }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-questionnaire]"), function (form) {
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
      update(form);
    });
    var summary = document.getElementById("summary");
    if (summary) { summary.focus(); }
  });
}());
