// The problem editor: the spec validated as it is typed (POST /api/validate, the command
// line's messages), a live preview of the answer key or blank sheet (POST /api/render, shown
// in a sandboxed iframe), and downloads of the key, the blank sheet, the answers file and the spec.
// A spec with a [variants] table can be previewed as one student's variant (ID and seed: the
// numbers `worksheet variant` gives that student), and that variant downloaded as a spec.
"use strict";
(function () {
  const spec = document.getElementById("spec");
  const nameEl = document.getElementById("spec-name");
  const gutter = document.getElementById("gutter");
  const validation = document.getElementById("validation");
  const preview = document.getElementById("preview");
  const pane = document.querySelector(".preview-pane");
  const messageEl = document.getElementById("message");
  const title = document.getElementById("preview-title");
  const asStudent = document.getElementById("as-student");
  const studentEl = document.getElementById("variant-student");
  const seedEl = document.getElementById("variant-seed");
  const variantButton = document.querySelector('[data-download="variant"]');
  let mode = "key";
  let badLine = null;
  let seq = 0; // the latest edit; older answers are dropped
  let timer = null;
  let shown = ""; // the spec + mode the preview shows

  function drawGutter() {
    const count = spec.value.split("\n").length;
    const rows = [];
    for (let n = 1; n <= count; n++) rows.push(n === badLine ? '<span class="bad">' + n + "</span>" : String(n));
    gutter.innerHTML = rows.join("\n");
    gutter.scrollTop = spec.scrollTop;
  }

  function student() {
    return asStudent.hidden ? "" : studentEl.value.trim();
  }

  function body(extra) {
    const out = { spec: spec.value, name: nameEl.value.trim() || "spec" };
    if (student()) { // the student's variant, as `worksheet variant --student ID [--seed S]` prints it
      out.student = student();
      if (seedEl.value.trim()) out.seed = seedEl.value.trim();
    }
    return JSON.stringify(Object.assign(out, extra || {}));
  }

  async function post(url, extra) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: body(extra) });
  }

  function showMessage(text) {
    messageEl.textContent = text || "";
    messageEl.hidden = !text;
  }

  async function validate() {
    const mine = ++seq;
    let response;
    let data;
    try {
      response = await post("/api/validate");
      data = await response.json();
    } catch (e) {
      if (mine === seq) {
        validation.className = "validation bad";
        validation.textContent = "The server did not answer; is `worksheet serve` still running?";
      }
      return;
    }
    if (mine !== seq) return;
    if (response.ok) {
      badLine = null;
      asStudent.hidden = !data.variants;
      variantButton.hidden = !data.variants || !data.student;
      validation.className = "validation ok";
      validation.textContent = "Valid: “" + data.title + "”, " + data.steps + " step" + (data.steps > 1 ? "s" : "") +
        ", " + data.quantities + " boxes to fill in; sheet " + data.sheet + "." +
        (data.student ? " Student " + data.student + "'s variant." : data.variants ? " It has a [variants] table: " +
          "type a student ID to preview their numbers." : "");
      drawGutter();
      refreshPreview(mine);
    } else {
      badLine = data.line || null;
      validation.className = "validation bad";
      validation.textContent = "";
      if (badLine) {
        const line = document.createElement("span");
        line.className = "line";
        line.textContent = "Line " + badLine + ": ";
        validation.append(line);
      }
      validation.append(document.createTextNode(data.error || "The spec cannot be read."));
      drawGutter();
      pane.classList.add("stale");
    }
  }

  async function refreshPreview(mine) {
    const wanted = mode + "\u0000" + student() + "\u0000" + seedEl.value.trim() + "\u0000" + spec.value;
    if (wanted === shown) {
      pane.classList.remove("stale");
      return;
    }
    pane.classList.add("stale");
    try {
      const response = await post("/api/render", { blank: mode === "blank", format: "html" });
      if (mine !== seq) return;
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        showMessage(data.error || "The preview could not be made.");
        return;
      }
      const html = await response.text();
      if (mine !== seq) return;
      // the printed page's margins come from @page, which a screen ignores: give it some
      const margins = "<style>@media screen { body { margin: 20px 28px; } }</style>";
      preview.srcdoc = html.replace(/<\/head>/i, margins + "</head>"); // sandboxed: no scripts, and no access to (or from) this page
      shown = wanted;
      showMessage("");
      pane.classList.remove("stale");
    } catch (e) {
      if (mine === seq) showMessage("The server did not answer; is `worksheet serve` still running?");
    }
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(validate, 450);
  }

  function save(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  }

  function stem() {
    return (nameEl.value.trim() || "spec").replace(/\.toml$/i, "").replace(/[^A-Za-z0-9._-]+/g, "-") || "spec";
  }

  async function download(button) {
    const what = button.dataset.download;
    if (what === "variant") {
      button.disabled = true;
      try {
        const response = await post("/api/variant");
        if (!response.ok) {
          const data = await response.json().catch(() => ({}));
          showMessage(data.error || "The download failed.");
          return;
        }
        showMessage("");
        save(await response.blob(), stem() + "-" + student() + ".toml");
      } catch (e) {
        showMessage("The server did not answer; is `worksheet serve` still running?");
      } finally {
        button.disabled = false;
      }
      return;
    }
    if (what === "spec") {
      save(new Blob([spec.value], { type: "application/toml" }), stem() + ".toml");
      return;
    }
    button.disabled = true;
    try {
      const response = what === "answers" ? await post("/api/answers")
        : await post("/api/render", { blank: what === "blank", format: "pdf" });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        showMessage(data.error || "The download failed.");
        return;
      }
      showMessage("");
      const m = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      save(await response.blob(), m ? m[1] : stem() + (what === "answers" ? "-answers.toml" : ".pdf"));
    } catch (e) {
      showMessage("The server did not answer; is `worksheet serve` still running?");
    } finally {
      button.disabled = false;
    }
  }

  spec.addEventListener("input", () => {
    drawGutter();
    later();
  });
  spec.addEventListener("scroll", () => {
    gutter.scrollTop = spec.scrollTop;
  });
  spec.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.metaKey) { // two spaces, not leaving the editor
      e.preventDefault();
      spec.setRangeText("  ", spec.selectionStart, spec.selectionEnd, "end");
      drawGutter();
      later();
    }
  });
  nameEl.addEventListener("input", later);
  studentEl.addEventListener("input", later);
  seedEl.addEventListener("input", later);
  for (const b of document.querySelectorAll("[data-download]")) b.addEventListener("click", () => download(b));
  for (const b of document.querySelectorAll("[data-preview]")) {
    b.addEventListener("click", () => {
      mode = b.dataset.preview;
      for (const other of document.querySelectorAll("[data-preview]")) {
        other.setAttribute("aria-pressed", String(other === b));
      }
      title.textContent = mode === "key" ? "Answer key" : "Blank sheet";
      validate();
    });
  }
  const original = spec.value;
  let asked = false;  // the menu below asked already: the page does not ask again as it goes
  document.getElementById("problem-pick").addEventListener("change", (e) => {
    if (spec.value !== original && !confirm("Leave your changes to this spec? (Download it first to keep them.)")) {
      e.target.value = new URLSearchParams(location.search).get("problem") || e.target.options[0].value;
      return;
    }
    asked = true;
    location.search = "?problem=" + encodeURIComponent(e.target.value);
  });
  // a reload, a link or closing the tab lost an edited spec without a word (only the menu asked)
  window.addEventListener("beforeunload", (e) => {
    if (!asked && spec.value !== original) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  drawGutter();
  validate();
})();
