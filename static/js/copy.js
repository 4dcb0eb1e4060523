// Staff pages: a "copy" button beside read-only code (shown only where the clipboard works).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var note = button.parentNode.querySelector("[data-copied]");
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        if (note) { note.textContent = "Copied."; }
      }, function () {
        source.select();
        if (note) { note.textContent = "Press Ctrl+C (⌘C) to copy."; }
      });
    });
  });
})();
