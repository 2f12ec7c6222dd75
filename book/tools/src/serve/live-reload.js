// Added to every page serve-book sends. Once a second it asks the server for the site's version:
// a new version means a new build, so the page reloads; an error means the latest build failed,
// and a banner shows why (the page itself is still the last good build).
(function () {
  "use strict";
  var loadedVersion = document.currentScript.getAttribute("data-version");
  var banner = null;

  function showError(error) {
    if (!error) {
      if (banner) {
        banner.remove();
        banner = null;
      }
      return;
    }
    if (!banner) {
      banner = document.createElement("pre");
      banner.id = "serve-book-error";
      banner.style.cssText =
        "position: fixed; left: 0; right: 0; bottom: 0; z-index: 1000; max-height: 40vh;" +
        "overflow: auto; margin: 0; padding: 1em; white-space: pre-wrap;" +
        "background: #fee; color: #600; border-top: 3px solid #c00; font-size: 0.8em";
      document.body.appendChild(banner);
    }
    banner.textContent =
      "The book did not build; this page is the last good build.\n\n" + error;
  }

  function poll() {
    fetch("/__serve-book/status", { cache: "no-store" })
      .then(function (response) {
        return response.json();
      })
      .then(function (status) {
        if (String(status.version) !== loadedVersion) {
          location.reload();
          return;
        }
        showError(status.error);
        setTimeout(poll, 1000);
      })
      .catch(function () {
        // The server is restarting or gone: keep asking, more slowly.
        setTimeout(poll, 3000);
      });
  }

  setTimeout(poll, 1000);
})();
