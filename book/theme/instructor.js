// Instructor mode: `?instructor` in the URL turns it on (remembered in this browser),
// `?instructor=off` turns it off. It shows speaker notes and each chapter's expected minutes.
(function () {
  "use strict";
  var KEY = "capdkc-instructor";
  var params = new URLSearchParams(window.location.search);
  if (params.has("instructor")) {
    if (params.get("instructor") === "off") {
      localStorage.removeItem(KEY);
    } else {
      localStorage.setItem(KEY, "on");
    }
  }
  if (localStorage.getItem(KEY) !== "on") {
    return;
  }
  document.body.classList.add("instructor");
  // Chapters carry their expected minutes as `<!-- minutes: N -->`; show it beside the title.
  var walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_COMMENT);
  var comment;
  while ((comment = walker.nextNode())) {
    var match = /minutes:\s*(\d+)/.exec(comment.nodeValue);
    var heading = document.querySelector("main h1");
    if (match && heading) {
      var badge = document.createElement("span");
      badge.className = "minutes-badge";
      badge.textContent = match[1] + " min";
      heading.appendChild(badge);
      break;
    }
  }
})();
