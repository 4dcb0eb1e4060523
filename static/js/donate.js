// Progressive enhancement for the donation panel: ladders and labels per frequency and
// currency, the exact fee cover, the server's checks before posting, and live totals.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  // What the panel says, in the page's language (data-panel's "messages", fundraiser/donations/
  // panel.py); %(name)s stands for a value. The English here is only a fallback.
  var messages = {};
  var ENGLISH = {
    enter: "Please enter an amount.",
    positive: "The amount must be more than zero.",
    number: "Please enter the amount as a number, like 25 or 12.50.",
    whole: "%(currency)s amounts are whole numbers.",
    places: "Please use at most %(num)s decimal places.",
    minimum: "The smallest gift we can take is %(minimum)s.",
    maximum: "The largest gift we take online is %(maximum)s; please contact us for larger gifts.",
    fee: "Add %(fee)s so we receive all %(amount)s",
    fee_unknown: "Add a little to cover the card fees, so all of your gift arrives",
    email: "Please check your email address, or leave it empty.",
    message: "Please keep your message under 500 characters.",
    summary: "Please check the highlighted fields.",
    busy: "Opening secure checkout…",
    submit: "Donate securely"
  };
  function say(key, values, currency) {
    var text = messages[key], own = currency && messages[key + "_by_currency"];
    if (own && own[currency]) { text = own[currency]; }
    text = text || ENGLISH[key];
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
    return text;
  }

  function digitsOf(rules, currency) { return rules[currency] ? rules[currency].digits : 2; }
  function format(minor, currency, digits, whole) {
    var scale = Math.pow(10, digits);
    var shown = whole && minor % scale === 0 ? 0 : digits;
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency, minimumFractionDigits: shown, maximumFractionDigits: shown }).format(minor / scale);
    } catch (e) { return currency + " " + (minor / scale).toFixed(shown); }
  }

  // fundraiser/money.py's parse_amount, check_donation_amount, stripe_fee and fee_cover,
  // step for step, so the page says and checks exactly what the server will.
  var AMOUNT_RE = /^(\d{1,12})(?:[.,](\d+))?$/;
  // money.py's parse_reader_amount: the page language's decimal mark always is one; the
  // other mark groups thousands when it groups by three, else it is a decimal mark.
  function withPoint(cleaned) {
    var mark = lang.split("-")[0] === "en" ? "." : ",", other = mark === "." ? "," : ".";
    if (cleaned.indexOf(other) < 0) { return cleaned.split(mark).length === 2 ? cleaned.replace(mark, ".") : cleaned; }
    var at = cleaned.indexOf(mark), integer = at < 0 ? cleaned : cleaned.slice(0, at);
    var fraction = at < 0 ? "" : cleaned.slice(at + 1), groups = integer.split(other);
    var head = groups[0].replace(/^[€£$]/, "");
    var grouped = /^\d{1,3}$/.test(head) && groups.slice(1).every(function (g) { return /^\d{3}$/.test(g); });
    if (grouped && fraction.indexOf(mark) < 0) { return groups.join("") + (at < 0 ? "" : "." + fraction); }
    if (at < 0 && groups.length === 2) { return groups[0] + "." + groups[1]; }
    return cleaned;
  }
  function parseAmount(text, currency, rules, max) {
    var cleaned = withPoint((text || "").replace(/\s/g, "")).replace(/^[€£$]/, "");
    if (!cleaned) { return { error: say("enter") }; }
    if (cleaned.charAt(0) === "-") { return { error: say("positive") }; }
    var m = AMOUNT_RE.exec(cleaned);
    if (!m) { return { error: say("number") }; }
    var places = digitsOf(rules, currency), frac = m[2] || "";
    if (frac.length > places) {
      return { error: places === 0 ? say("whole", { currency: currency }, currency) : say("places", { num: places }, currency) };
    }
    var minor = parseInt(m[1], 10) * Math.pow(10, places) + parseInt((frac + "000000").slice(0, places) || "0", 10);
    if (minor <= 0) { return { error: say("positive") }; }
    var rule = rules[currency];
    if (rule && minor < rule.min) { return { error: say("minimum", { minimum: format(rule.min, currency, places) }) }; }
    var maxMinor = max * Math.pow(10, places);
    if (minor > maxMinor) { return { error: say("maximum", { maximum: format(maxMinor, currency, places) }) }; }
    return { minor: minor };
  }
  function stripeFee(charged, rule) { return Math.floor((charged * rule.bps + 5000) / 10000) + rule.fixed; }
  function feeCover(amount, rule) {
    var charged = Math.ceil((amount + rule.fixed) * 10000 / (10000 - rule.bps));
    while (charged - 1 - stripeFee(charged - 1, rule) >= amount) { charged -= 1; }
    while (charged - stripeFee(charged, rule) < amount) { charged += 1; }
    return charged - amount;
  }

  var form = document.querySelector(".donate-form");
  if (form) {
    // One nonce per page load, made here (the cached page carries none): both clicks of a
    // double click send it, so they share one checkout; two readers never share one.
    var nonce = form.querySelector("input[name=submission_nonce]");
    if (nonce && !nonce.value && window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      nonce.value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
  }
  if (form && form.getAttribute("data-panel")) { enhance(form, JSON.parse(form.getAttribute("data-panel"))); }

  function enhance(form, data) {
    messages = data.messages || {};
    var grid = form.querySelector("[data-presets]");
    var other = form.querySelector("#amount_other");
    var otherRadio = form.querySelector("#amount-other");
    var currency = form.querySelector("#currency");
    var impact = form.querySelector("[data-impact]");
    var feeLine = form.querySelector("[data-fee-line]");
    var nudge = form.querySelector("[data-nudge]");
    var summary = form.querySelector("#form-error");

    function frequency() { var c = form.querySelector("input[name=frequency]:checked"); return c ? c.value : "one-time"; }
    function chosen() { var c = form.querySelector("input[name=amount]:checked"); return c ? c.value : ""; }
    function ladder() { return data.ladders[frequency()] || []; }
    function presetMinor(amount) { return amount * Math.pow(10, digitsOf(data.rules, currency.value)); }

    function relabel() {
      ladder().forEach(function (p) {
        var label = grid.querySelector("label[for='amount-" + p.amount + "']");
        if (label) { label.textContent = format(presetMinor(p.amount), currency.value, digitsOf(data.rules, currency.value), true); }
      });
    }
    function rebuild() {
      var keep = chosen();
      Array.prototype.slice.call(grid.querySelectorAll("input, label")).forEach(function (el) {
        if (el !== otherRadio && el.getAttribute("for") !== "amount-other") { grid.removeChild(el); }
      });
      var items = ladder();
      items.forEach(function (p) {
        var input = document.createElement("input");
        input.type = "radio"; input.name = "amount"; input.id = "amount-" + p.amount; input.value = String(p.amount);
        var label = document.createElement("label");
        label.setAttribute("for", input.id);
        grid.insertBefore(input, otherRadio); grid.insertBefore(label, otherRadio);
      });
      if (keep !== "other" || !other.value) {
        var suggested = items[Math.min(1, items.length - 1)];
        if (suggested) { grid.querySelector("#amount-" + suggested.amount).checked = true; }
      }
      relabel();
    }
    // The amount as the server will read it: a preset, or what is typed in "Other".
    function amountText() { var c = chosen(); return (c === "other" || other.value.trim()) ? other.value : c; }
    function update() {
      var rule = data.rules[currency.value];
      var parsed = parseAmount(amountText(), currency.value, data.rules, data.max);
      var digits = digitsOf(data.rules, currency.value);
      if (!feeLine) { /* the embed has no fee line */ } else if (rule && parsed.minor) {
        feeLine.textContent = say("fee", { fee: format(feeCover(parsed.minor, rule), currency.value, digits), amount: format(parsed.minor, currency.value, digits, true) });
      } else {
        feeLine.textContent = say("fee_unknown");
      }
      var line = "";
      ladder().forEach(function (p) { if (String(p.amount) === chosen()) { line = p.impact || ""; } });
      impact.textContent = line; impact.hidden = !line;
      if (nudge) { nudge.hidden = frequency() !== "one-time"; }
    }

    function value(selector) { var el = form.querySelector(selector); return el ? el.value : ""; }
    function setError(field, id, message) {
      var input = form.querySelector("#" + field), note = form.querySelector("#" + id);
      if (!input || !note) { return; }
      note.textContent = message || ""; note.hidden = !message;
      if (message) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", id); }
      else { input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby"); }
    }
    function check() {
      var errors = [];
      var amount = parseAmount(amountText(), currency.value, data.rules, data.max).error;
      var email = value("#email").trim();
      var emailError = email && !/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(email) ? say("email") : "";
      var messageError = value("#message").length > 500 ? say("message") : "";
      setError("amount_other", "amount-error", amount);
      setError("email", "email-error", emailError);
      setError("message", "message-error", messageError);
      [[amount, "amount_other"], [emailError, "email"], [messageError, "message"]].forEach(function (e) { if (e[0]) { errors.push(e); } });
      return errors;
    }
    function showSummary(errors) {
      var list = summary.querySelector("[data-summary-list]");
      summary.querySelector("[data-summary]").textContent = say("summary");
      list.textContent = "";
      errors.forEach(function (e) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = "#" + e[1]; a.textContent = e[0]; li.appendChild(a); list.appendChild(li);
      });
      summary.hidden = false;
      summary.focus();
      summary.scrollIntoView({ block: "center" });
    }

    form.addEventListener("change", function (event) {
      if (event.target.name === "frequency") { rebuild(); }
      if (event.target === currency) { relabel(); }
      if (event.target.name === "amount" && event.target !== otherRadio) { other.value = ""; }
      update();
    });
    var makeMonthly = form.querySelector("[data-make-monthly]");
    if (makeMonthly) {
      makeMonthly.addEventListener("click", function () {
        form.querySelector("#freq-monthly").checked = true;
        rebuild(); update();
        form.querySelector("#freq-monthly").focus();
      });
    }
    other.addEventListener("input", function () { if (other.value) { otherRadio.checked = true; } update(); });
    other.addEventListener("focus", function () { otherRadio.checked = true; update(); });
    form.addEventListener("submit", function (event) {
      var errors = check();
      if (errors.length) { event.preventDefault(); showSummary(errors); return; }
      var button = form.querySelector("button[type=submit]");
      // A second click would only reuse the same checkout, but say that we're on it.
      if (button) { button.setAttribute("aria-busy", "true"); button.textContent = say("busy"); }
    });
    // Back from checkout the browser may restore the page: undo the busy button.
    window.addEventListener("pageshow", function () {
      var button = form.querySelector("button[aria-busy]");
      if (button) { button.removeAttribute("aria-busy"); button.textContent = say("submit"); }
    });
    relabel();
    update();
    // A server answer (an error or the note after checkout) is focused where autofocus isn't honoured.
    var answer = form.querySelector("[autofocus]");
    if (answer && document.activeElement !== answer) { answer.focus(); }
  }

  // In the embed's iframe: tell the page around it how tall the panel is.
  if (document.body.hasAttribute("data-embed") && window.parent !== window) {
    var tell = function () { window.parent.postMessage({ type: "fundraiser:height", height: document.body.getBoundingClientRect().height }, "*"); };
    tell();
    if (window.ResizeObserver) { new ResizeObserver(tell).observe(document.body); }
  }

  // On phones a slim bar leads to the panel; it steps aside while the panel is in view.
  var bar = document.querySelector(".donate-bar"), panel = document.getElementById("donate");
  if (bar && panel && window.IntersectionObserver) {
    new IntersectionObserver(function (entries) { bar.classList.toggle("is-hidden", entries[0].isIntersecting); }).observe(panel);
  }

  // The figures may appear twice (a summary near the top on phones, and the panel).
  var blocks = document.querySelectorAll("[data-totals-url]");
  if (!blocks.length || !window.fetch) { return; }
  var url = blocks[0].getAttribute("data-totals-url");
  function show(block, t, pct) {
    var digits = new Intl.NumberFormat(lang, { style: "currency", currency: t.currency }).resolvedOptions().maximumFractionDigits;
    block.querySelector("[data-field=raised]").textContent = format(t.raised_minor, t.currency, digits, true);
    block.querySelector("[data-field=goal]").textContent = format(t.goal_minor, t.currency, digits, true);
    block.querySelector("[data-field=supporters]").textContent = String(t.supporters);
    block.querySelector("[data-field=supporters-label]").textContent = supportersLabel(block, t.supporters);
    var bar = block.querySelector("[data-field=bar]");
    bar.value = pct; bar.textContent = pct + "%";
  }
  // The words come from the page, in its language, one per plural category (fundraiser/i18n.py).
  function supportersLabel(block, count) {
    var labels = {};
    try { labels = JSON.parse(block.getAttribute("data-supporters-labels") || "{}"); } catch (e) { /* English below */ }
    var category = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang).select(count) : (count === 1 ? "one" : "other");
    return labels[category] || labels.other || (count === 1 ? "supporter" : "supporters");
  }
  var last = "";
  function refresh() {
    fetch(url, { credentials: "omit", cache: "no-cache" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (t) {
      if (!t) { return; }
      var seen = t.raised_minor + ":" + t.supporters;
      if (seen === last) { return; }
      last = seen;
      // A sliver is still shown for the first gifts, so the bar never looks broken.
      var pct = t.goal_minor > 0 ? Math.min(100, Math.max(t.raised_minor > 0 ? 1 : 0, Math.floor(t.raised_minor * 100 / t.goal_minor))) : 0;
      Array.prototype.forEach.call(blocks, function (block) { show(block, t, pct); });
    }).catch(function () { /* keep the figures already shown */ });
  }
  refresh();
  // Every open page asks the shared, micro-cached totals every 2 s: the app answers about
  // once per cache period however many readers there are. Background tabs catch up on return.
  var every = parseInt(blocks[0].getAttribute("data-poll-ms") || "2000", 10);
  setInterval(function () { if (!document.hidden) { refresh(); } }, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
