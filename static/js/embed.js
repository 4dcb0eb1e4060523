// The one-line embed: <script src="https://…/embed.js" data-campaign="slug" async></script>
// inserts the donation panel's iframe where the script stands and keeps it as tall as its content.
// The panel speaks data-lang="de" (or the host page's <html lang>) when we ship that language.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var origin = new URL(script.src).origin;
  var slug = script.getAttribute("data-campaign") || "";
  var frame = document.createElement("iframe");
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "").slice(0, 2).toLowerCase();
  var prefix = ["de", "fr", "es", "ru"].indexOf(lang) >= 0 ? "/" + lang : "";
  frame.src = origin + prefix + "/embed/" + encodeURIComponent(slug);
  frame.title = script.getAttribute("data-title") || "Donate to Socialist World";
  frame.loading = "lazy";
  frame.style.cssText = "display:block;width:100%;max-width:28rem;height:520px;border:0;";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "fundraiser:height" && data.height > 0) { frame.style.height = Math.ceil(data.height) + "px"; }
  });
})();
