// Keyboard shortcuts of the calendars: j or ArrowLeft / k or ArrowRight move a day (or a week)
// back / forward, t goes to today, n to "find next available". Each shortcut follows a real
// link on the page marked data-shortcut="prev|next|today|next-available", so everything works
// without this file too. Keys typed into a form field are left alone.
(function () {
  "use strict";
  var keys = { j: "prev", ArrowLeft: "prev", k: "next", ArrowRight: "next", t: "today", n: "next-available" };

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || typing(event.target)) { return; }
    var name = keys[event.key];
    if (!name) { return; }
    var link = document.querySelector('[data-shortcut="' + name + '"]');
    if (!link || !link.href) { return; }
    event.preventDefault();
    window.location.assign(link.href);
  });
})();
