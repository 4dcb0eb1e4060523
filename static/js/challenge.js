// Proof of work for the donation form while the card-testing defence is on:
// find a counter so that SHA-256("<challenge>:<counter>") starts with `difficulty` zero bits.
(function () {
  "use strict";
  var form = document.getElementById("challenge-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  var challenge = form.getAttribute("data-challenge");
  var difficulty = parseInt(form.getAttribute("data-difficulty"), 10);
  var status = document.getElementById("challenge-status");
  var encoder = new TextEncoder();

  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer), bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { bits += 8; continue; }
      return bits + Math.clz32(bytes[i]) - 24;
    }
    return bits;
  }

  function attempt(counter) {
    return crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + counter)).then(function (digest) {
      return zeroBits(digest) >= difficulty;
    });
  }

  function search(start) {
    var batch = [];
    for (var i = 0; i < 256; i++) { batch.push(attempt(start + i)); }
    return Promise.all(batch).then(function (results) {
      var found = results.indexOf(true);
      return found >= 0 ? start + found : search(start + 256);
    });
  }

  search(0).then(function (counter) {
    document.getElementById("pow_solution").value = String(counter);
    status.textContent = form.getAttribute("data-done") || "Done — taking you to the secure checkout…";
    document.getElementById("challenge-submit").disabled = false;
    form.submit();
  });
})();
