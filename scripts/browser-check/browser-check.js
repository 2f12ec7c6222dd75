// The checks scripts/check-book-in-browser.sh runs in headless chromium. harness.html sits in the
// rendered book's directory next to browser-check-config.js, which the script writes:
//
//   window.CHECK_CONFIG = { pages: [...], diffPages: [...], lastPage: "..." }
//
// Every page is loaded into one frame (same origin: file:// with --allow-file-access-from-files)
// and checked the way a reader would meet it. Each check writes one line into #report ("ok",
// "FAIL" or "info"); #status ends as "passed" or "failed". Nothing here changes the pages.
(function () {
  "use strict";

  var config = window.CHECK_CONFIG;
  var frame = document.getElementById("page");
  var report = document.getElementById("report");
  var status = document.getElementById("status");
  var failures = 0;

  function line(ok, text) {
    report.textContent += (ok ? "ok   " : "FAIL ") + text + "\n";
    if (!ok) {
      failures += 1;
    }
  }

  function info(text) {
    report.textContent += "info " + text + "\n";
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  // Loads `url` into the frame; resolves with its window once the load event fired.
  function load(url) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error("did not load within 30 s"));
      }, 30000);
      frame.onload = function () {
        clearTimeout(timer);
        resolve(frame.contentWindow);
      };
      frame.src = url;
    });
  }

  async function waitFor(predicate, ms) {
    for (var waited = 0; waited < ms; waited += 100) {
      if (predicate()) {
        return true;
      }
      await sleep(100);
    }
    return predicate();
  }

  // The page's document, or null when it cannot be read (a missing file shows an error page
  // of another origin).
  function documentOf(win) {
    try {
      return win.document.body ? win.document : null;
    } catch (error) {
      return null;
    }
  }

  function some(list, predicate) {
    return Array.prototype.some.call(list, predicate);
  }

  function filter(list, predicate) {
    return Array.prototype.filter.call(list, predicate);
  }

  function stylesheetLoaded(doc, suffix) {
    return some(doc.styleSheets, function (sheet) {
      if (!sheet.href || !sheet.href.endsWith(suffix)) {
        return false;
      }
      try {
        return sheet.cssRules.length > 0;
      } catch (error) {
        return false;
      }
    });
  }

  // Text a reader sees as prose or in code blocks; inline code may show a directive on purpose.
  function proseAndBlocks(main) {
    var copy = main.cloneNode(true);
    copy.querySelectorAll(":not(pre) > code").forEach(function (code) {
      code.remove();
    });
    return copy.textContent;
  }

  function checkAdmonitions(page, win, main) {
    var admonitions = main.querySelectorAll(".admonition");
    if (admonitions.length === 0) {
      return 0;
    }
    var unstyled = filter(admonitions, function (admonition) {
      var box = win.getComputedStyle(admonition);
      var title = admonition.querySelector(".admonition-title");
      if (!title) {
        return true;
      }
      var heading = win.getComputedStyle(title);
      var icon = win.getComputedStyle(title, "::before");
      var mask = icon.maskImage || icon.webkitMaskImage || "none";
      return (
        parseFloat(box.borderInlineStartWidth || box.borderLeftWidth) <= 0 ||
        heading.backgroundColor === "rgba(0, 0, 0, 0)" ||
        mask === "none"
      );
    });
    line(
      unstyled.length === 0,
      page + ": " + admonitions.length + " admonition(s) styled by mdbook-admonish.css" +
        (unstyled.length ? " (unstyled: " + unstyled.map(function (a) { return a.id; }).join(", ") + ")" : "")
    );
    return admonitions.length;
  }

  function checkDiffs(page, main) {
    var diffs = main.querySelectorAll("pre > code.language-diff");
    var shown = filter(diffs, function (code) {
      return /^[+-]/m.test(code.textContent);
    });
    var coloured = filter(diffs, function (code) {
      return code.querySelector(".hljs-addition, .hljs-deletion") !== null;
    });
    line(
      diffs.length > 0 && shown.length === diffs.length && coloured.length === diffs.length,
      page + ": {{#cp-diff}} rendered as " + diffs.length + " diff block(s), " + shown.length +
        " with +/- lines, " + coloured.length + " highlighted"
    );
  }

  // All text under `root`, hidden parts included, one text node at a time (textContent would
  // glue the words of adjacent elements together).
  function textNodes(doc, root) {
    var walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var parts = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      parts.push(node.nodeValue);
    }
    return parts.join(" ");
  }

  // Word counts of the text a reader can search, per page.
  function words(text) {
    var counts = new Map();
    (text.toLowerCase().match(/[a-z]+/g) || []).forEach(function (word) {
      counts.set(word, (counts.get(word) || 0) + 1);
    });
    return counts;
  }

  async function checkPage(page, texts) {
    var win;
    try {
      win = await load(page);
    } catch (error) {
      line(false, page + ": " + error.message);
      return { admonitions: 0 };
    }
    // book.js highlights code blocks once the document has loaded.
    await sleep(200);
    var doc = documentOf(win);
    var main = doc && doc.querySelector("#content main");
    if (!main) {
      line(false, page + ": cannot be read or has no <main> (missing file?)");
      return { admonitions: 0 };
    }
    var text = main.innerText.trim();
    var title = main.querySelector("h1");
    line(
      text.length >= 200 && title !== null,
      page + ": content rendered (" + text.length + " characters, title " +
        JSON.stringify(title ? title.textContent.trim() : null) + ")"
    );
    var directive = proseAndBlocks(main).match(/\{\{#[^\n]{0,40}/);
    line(!directive, page + ": no unexpanded {{#...}}" + (directive ? " (found " + JSON.stringify(directive[0]) + ")" : ""));

    var blocks = main.querySelectorAll("pre > code");
    var empty = filter(blocks, function (code) {
      return code.textContent.trim() === "";
    });
    var plain = filter(blocks, function (code) {
      return !code.classList.contains("hljs");
    });
    line(
      empty.length === 0 && plain.length === 0,
      page + ": " + blocks.length + " code block(s), " + empty.length + " empty, " + plain.length +
        " not highlighted"
    );

    line(
      stylesheetLoaded(doc, "book/theme/mdbook-admonish.css") && stylesheetLoaded(doc, "book/theme/capdkc.css"),
      page + ": book/theme/mdbook-admonish.css and book/theme/capdkc.css loaded"
    );
    var notes = main.querySelectorAll("details.notes");
    if (notes.length > 0) {
      var shown = filter(notes, function (note) {
        return win.getComputedStyle(note).display !== "none";
      });
      line(shown.length === 0, page + ": speaker notes hidden outside instructor mode");
    }
    var admonitions = checkAdmonitions(page, win, main);
    if (config.diffPages.indexOf(page) >= 0) {
      checkDiffs(page, main);
    }
    texts.set(page, words(textNodes(doc, main)));
    return { admonitions: admonitions };
  }

  // The last chapter's most frequent word (6+ letters, not a stop word) whose stem, as the
  // search index stems it, no other page has. Counts include text a reader must expand (speaker
  // notes, collapsed diffs): the search index has it too.
  function distinctiveWord(texts) {
    var mine = texts.get(config.lastPage);
    var lunr = frame.contentWindow.elasticlunr;
    if (!mine || !lunr) {
      return null;
    }
    var stem = function (word) {
      return lunr.stemmer(word);
    };
    var elsewhere = new Set();
    texts.forEach(function (counts, page) {
      if (page !== config.lastPage) {
        counts.forEach(function (count, word) {
          elsewhere.add(stem(word));
        });
      }
    });
    var best = null;
    mine.forEach(function (count, word) {
      if (word.length < 6 || !lunr.stopWordFilter(word) || elsewhere.has(stem(word))) {
        return;
      }
      if (best === null || count > best.count || (count === best.count && word < best.word)) {
        best = { word: word, count: count };
      }
    });
    return best && best.word;
  }

  async function checkSearch(texts) {
    var word = distinctiveWord(texts);
    if (!word) {
      line(false, "search: no word of 6+ letters appears only in " + config.lastPage);
      return;
    }
    info("search-term " + word);
    var url = config.pages[0] + "?search=" + encodeURIComponent(word);
    var win;
    try {
      win = await load(url);
    } catch (error) {
      line(false, "search: " + url + ": " + error.message);
      return;
    }
    var doc = documentOf(win);
    var found = doc !== null && (await waitFor(function () {
      return doc.querySelectorAll("#searchresults a").length > 0;
    }, 20000));
    var links = found
      ? Array.prototype.map.call(doc.querySelectorAll("#searchresults a"), function (a) {
        return a.getAttribute("href");
      })
      : [];
    var hit = links.some(function (href) {
      return href.split(/[?#]/)[0] === config.lastPage;
    });
    line(
      hit,
      "search: ?search=" + word + " on " + config.pages[0] + " lists the last chapter " +
        config.lastPage + " (" + links.length + " result(s): " + links.map(function (h) {
          return h.split(/[?#]/)[0];
        }).join(", ") + ")"
    );
  }

  async function main() {
    if (!config || !config.pages || config.pages.length === 0) {
      line(false, "no pages to check (browser-check-config.js missing or empty)");
      return;
    }
    var texts = new Map();
    var admonitions = 0;
    for (var i = 0; i < config.pages.length; i += 1) {
      admonitions += (await checkPage(config.pages[i], texts)).admonitions;
    }
    line(admonitions > 0, "book: " + admonitions + " admonition(s) in " + config.pages.length + " page(s)");
    line(config.diffPages.length > 0, "book: " + config.diffPages.length + " page(s) with {{#cp-diff}}");
    await checkSearch(texts);
  }

  // Screenshot mode (?view=PAGE): the page fills the window, scrolled to its first diff block
  // (opened if it is a collapsed per-file diff).
  async function view(page) {
    document.body.style.margin = "0";
    report.style.display = "none";
    status.style.display = "none";
    frame.style.cssText = "border: 0; width: 100vw; height: 100vh; display: block";
    var win = await load(page);
    await sleep(200);
    var doc = documentOf(win);
    var diff = doc && doc.querySelector("#content main pre > code.language-diff");
    if (diff) {
      var details = diff.closest("details");
      if (details) {
        details.open = true;
      }
      (details ? details.querySelector("summary") : diff.parentElement).scrollIntoView();
    }
    status.textContent = "shown";
  }

  var shown = new URLSearchParams(window.location.search).get("view");
  if (shown) {
    view(shown);
    return;
  }

  main()
    .catch(function (error) {
      line(false, "check script: " + error);
    })
    .then(function () {
      status.textContent = failures === 0 ? "passed" : "failed";
    });
})();
