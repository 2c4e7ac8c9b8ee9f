// The patient search box: Down arrow moves from the box into the results, Up and Down move
// between them, Up from the first returns to the box, Escape goes back to the box, and Enter
// in the box opens the first result. Enter on a result follows its link as any link does.
(function () {
  "use strict";

  function links() {
    var list = document.getElementById("patient-results");
    return list ? Array.prototype.slice.call(list.querySelectorAll("a.patient-hit")) : [];
  }

  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("patient-query");
    if (!box) {
      return;
    }
    var found = links();
    if (!found.length) {
      return;
    }
    var index = found.indexOf(document.activeElement);
    var inBox = document.activeElement === box;
    if (!inBox && index === -1) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      (found[index + 1] || found[0]).focus();
    } else if (event.key === "ArrowUp" && index !== -1) {
      event.preventDefault();
      if (index === 0) {
        box.focus();
      } else {
        found[index - 1].focus();
      }
    } else if (event.key === "Escape" && index !== -1) {
      box.focus();
    } else if (event.key === "Enter" && inBox) {
      event.preventDefault();
      window.location.assign(found[0].href);
    }
  });
}());
