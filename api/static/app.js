// Search page: one search box, an answer panel, citation cards and a provision view.
// Every piece of data is put on the page with textContent / DOM nodes, never as HTML.
"use strict";

(() => {
  const $ = (selector) => document.querySelector(selector);
  const form = $("#search-form");
  const input = $("#q");
  const statusLine = $("#status");
  const answerBox = $("#answer");
  const resultsBox = $("#results");
  const provisionBox = $("#provision");
  const intro = $("#intro");
  const actSelect = $("#act");
  const typeSelect = $("#doc-type");
  const keyBox = $("#key-box");
  const keyInput = $("#api-key");

  const STOP = new Set(("a an and are as at be by can do does for from has have how i if in is it its may must of on or " +
    "shall should that the their there this to under was what when where which who whom will with within under " +
    "act section sec").split(" "));
  let apiKey = sessionStorage.getItem("kb-api-key") || "";
  let lastSearchHash = "";
  let lastSearchKey = "";
  let lastAskKey = "";
  // Bumped on every navigation: a response that arrives for an older view is dropped.
  let generation = 0;

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(section, visible) { section.hidden = !visible; }

  function setStatus(text) { statusLine.textContent = text; }

  // Crude stem so "punishment" also marks "punished" and "reports" marks "reporting".
  function stem(word) {
    for (const suffix of ["ments", "ment", "ings", "ing", "ed", "es", "s"]) {
      if (word.endsWith(suffix) && word.length - suffix.length >= 4) return word.slice(0, -suffix.length);
    }
    return word;
  }

  function queryTerms(query) {
    const words = (query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || [])
      .filter((w) => w.length > 2 && !STOP.has(w)).map(stem);
    return [...new Set(words)].sort((a, b) => b.length - a.length);
  }

  function escapeRegex(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // Text with every word that starts with a query term wrapped in <mark>.
  function highlighted(text, terms) {
    const fragment = document.createDocumentFragment();
    if (!terms.length) { fragment.append(text); return fragment; }
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${terms.map(escapeRegex).join("|")})[\\p{L}\\p{N}]*`, "giu");
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > last) fragment.append(text.slice(last, match.index));
      fragment.append(el("mark", { text: match[0] }));
      last = match.index + match[0].length;
    }
    if (last < text.length) fragment.append(text.slice(last));
    return fragment;
  }

  // Source line breaks inside a paragraph are layout, not meaning: show paragraphs only.
  function paragraphs(text, terms) {
    return text.split(/\n\s*\n/).map((part) => part.replace(/\s*\n\s*/g, " ").trim()).filter(Boolean)
      .map((part) => el("p", {}, highlighted(part, terms)));
  }

  const DOC_TYPE_LABELS = { act: "Act", rules: "Rules", policy: "Policy", standard: "Standard", sop: "SOP",
    guideline: "Guide", case_study: "Case study", faq: "FAQ", judgment: "Judgment", report: "Report", portal: "Portal",
    other: "Document" };

  // The heading when the citation does not already end with it (guides cite "Title › Heading").
  function extraHeading(citation, heading) {
    if (!heading) return null;
    const bare = heading.replace(/[.\s]+$/, "");
    return citation.replace(/[.\s]+$/, "").endsWith(bare) ? null : heading;
  }

  function provisionHash(actKey, section, focus) {
    let hash = `#/provisions/${encodeURIComponent(actKey)}/${encodeURIComponent(section)}`;
    if (focus) hash += `?focus=${encodeURIComponent(focus)}`;
    return hash;
  }

  // A citation is always a link to its provision view when the provision is identified.
  function citationLink(text, actKey, section, focus, extraClass) {
    if (actKey && section) {
      return el("a", { href: provisionHash(actKey, section, focus), class: extraClass || "citation", text });
    }
    return el("span", { class: extraClass || "citation", text });
  }

  function safeUrl(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }

  // ---------------------------------------------------------------- API
  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (apiKey) headers["X-API-Key"] = apiKey;
    const response = await fetch(path, { ...options, headers });
    let body = null;
    try { body = await response.json(); } catch (_parseError) { body = null; }
    if (!response.ok) {
      const error = new Error((body && body.error && body.error.message) || `The service answered ${response.status}.`);
      error.status = response.status;
      error.code = body && body.error && body.error.code;
      if (response.status === 401) { show(keyBox, true); }
      throw error;
    }
    return body;
  }

  async function loadActs() {
    try {
      const data = await api("/acts");
      for (const act of data.acts) {
        const name = act.short_name || act.title;
        const label = act.doc_type === "act" || act.doc_type === "rules"
          ? `${name}${act.year && !name.includes(String(act.year)) ? `, ${act.year}` : ""} (${act.sections} sections)`
          : `${name} (${act.doc_type})`;
        actSelect.append(el("option", { value: act.act_key, text: label }));
      }
      const params = currentParams();
      if (params && params.get("act")) actSelect.value = params.get("act");
    } catch (error) {
      setStatus(`Could not load the list of Acts: ${error.message}`);
    }
  }

  // ---------------------------------------------------------------- state in the URL hash
  function audience() { return form.querySelector("input[name=audience]:checked").value; }

  function currentParams() {
    const hash = location.hash || "";
    if (!hash.startsWith("#/search")) return null;
    return new URLSearchParams(hash.slice(hash.indexOf("?") + 1));
  }

  function searchHash(mode, offset) {
    const params = new URLSearchParams({ q: input.value.trim(), mode, audience: audience() });
    if (actSelect.value) params.set("act", actSelect.value);
    if (typeSelect.value) params.set("type", typeSelect.value);
    if (offset) params.set("offset", String(offset));
    return `#/search?${params.toString()}`;
  }

  function go(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // ---------------------------------------------------------------- search results
  function hitCard(hit, terms, label) {
    const meta = [DOC_TYPE_LABELS[hit.doc_type] || hit.doc_type];
    if (hit.page) meta.push(`page ${hit.page}`);
    if (hit.act_title && hit.doc_type !== "act") meta.push(hit.act_title);
    const card = el("li", { class: "card" },
      label ? el("p", { class: "nearest-label", text: label }) : null,
      el("h3", {}, citationLink(hit.citation, hit.act_key, hit.section, hit.subsection)),
      extraHeading(hit.citation, hit.heading) ? el("p", { class: "heading", text: hit.heading }) : null,
      el("blockquote", { class: "passage" }, ...paragraphs(hit.passage, terms)),
      el("p", { class: "meta", text: meta.join(" · ") }));
    return card;
  }

  function understoodBlock(understood) {
    const nodes = [];
    for (const note of understood.notes || []) nodes.push(el("p", { class: "note", text: note }));
    if (understood.act_filter) {
      nodes.push(el("p", { class: "expansions", text: `Searched only in ${understood.act_filter} (named in the question).` }));
    }
    if ((understood.expansions || []).length) {
      nodes.push(el("p", { class: "expansions", text: `Also searched for: ${understood.expansions.join(", ")}` }));
    }
    return nodes;
  }

  function renderResults(data, terms, params) {
    resultsBox.replaceChildren();
    const first = data.offset + 1;
    const last = data.offset + data.hits.length;
    resultsBox.append(el("h2", { id: "results-title", text: "Provisions found" }));
    resultsBox.append(...understoodBlock(data.understood));
    if (!data.hits.length) {
      resultsBox.append(el("p", { class: "empty", text: "No provision found." }));
      show(resultsBox, true);
      return;
    }
    resultsBox.append(el("p", { class: "small", text: `Showing ${first}–${last} of ${data.total}.` }));
    const list = el("ol", { class: "cards", start: first });
    for (const hit of data.hits) list.append(hitCard(hit, terms));
    resultsBox.append(list);
    const pager = el("nav", { class: "pager", "aria-label": "Result pages" });
    if (data.offset > 0) {
      const prev = Math.max(0, data.offset - data.top_k);
      pager.append(el("a", { href: withOffset(params, prev), text: "← Previous results" }));
    }
    if (data.next_offset !== null && data.next_offset !== undefined) {
      pager.append(el("a", { href: withOffset(params, data.next_offset), text: "More results →" }));
    }
    if (pager.childNodes.length) resultsBox.append(pager);
    show(resultsBox, true);
  }

  function withOffset(params, offset) {
    const copy = new URLSearchParams(params);
    if (offset) copy.set("offset", String(offset)); else copy.delete("offset");
    copy.set("mode", "search");
    return `#/search?${copy.toString()}`;
  }

  // ---------------------------------------------------------------- answer panel
  function citationIndex(citations) {
    const index = new Map();
    for (const c of citations) {
      index.set(c.citation, { citation: c.citation, act_key: c.act_key, section: c.section, subsection: null });
      for (const q of c.quotes) {
        index.set(q.citation, { citation: q.citation, act_key: c.act_key, section: c.section, subsection: q.subsection });
      }
    }
    return index;
  }

  function renderAnswer(answer, terms) {
    answerBox.replaceChildren();
    answerBox.classList.toggle("abstained", answer.abstained);
    answerBox.append(el("h2", { text: answer.abstained ? "No answer found" : "Answer" }));
    answerBox.append(el("p", { class: "summary", text: answer.summary }));
    for (const note of answer.notes) answerBox.append(el("p", { class: "note", text: note }));
    if (answer.expansions.length) {
      answerBox.append(el("p", { class: "expansions", text: `Also searched for: ${answer.expansions.join(", ")}` }));
    }
    if (answer.generated_sentences && answer.generated_sentences.length) {
      // Phrased by the optional language model; every kept sentence links the provisions it rests on.
      answerBox.append(el("h3", { text: "In brief" }));
      answerBox.append(el("p", { class: "note", text: "Phrased by a language model from the quoted provisions below; "
        + "rely on the quoted text." }));
      const list = el("ul", { class: "generated" });
      for (const sentence of answer.generated_sentences) {
        const links = [];
        for (const c of sentence.citations) {
          const quote = c.quotes && c.quotes[0];
          links.push(links.length ? ", " : " (", citationLink(quote ? quote.citation : c.citation, c.act_key, c.section,
            quote ? quote.subsection : null));
        }
        if (links.length) links.push(")");
        list.append(el("li", { class: sentence.supported ? "" : "unsupported" }, sentence.text, ...links,
          sentence.supported ? null : el("span", { class: "flag", text: " [not supported by a cited provision]" })));
      }
      answerBox.append(list);
    }
    if (answer.steps.length) {
      answerBox.append(el("h3", { text: "Steps" }));
      const steps = el("ol", { class: "steps" });
      const known = citationIndex(answer.citations);
      for (const step of answer.steps) {
        const deadline = step.match(/^\[([^\]]+)\]\s*/);
        let text = deadline ? step.slice(deadline[0].length) : step;
        // Each step ends with "(its citation)": link it when it is one of the answer's citations.
        let link = null;
        const open = text.lastIndexOf(" (");
        if (open > 0 && text.endsWith(")")) {
          const target = known.get(text.slice(open + 2, -1));
          if (target) {
            link = citationLink(target.citation, target.act_key, target.section, target.subsection);
            text = text.slice(0, open);
          }
        }
        steps.append(el("li", {},
          deadline ? el("span", { class: "deadline", text: `${deadline[1]}: ` }) : null,
          text, link ? " (" : null, link, link ? ")" : null));
      }
      answerBox.append(steps);
    }
    if (answer.citations.length) {
      answerBox.append(el("h3", { text: "What the law says" }));
      for (const citation of answer.citations) {
        const block = el("div", { class: "cited" },
          el("h3", {}, citationLink(citation.citation, citation.act_key, citation.section),
            extraHeading(citation.citation, citation.heading) ? ` — ${citation.heading}` : ""));
        for (const quote of citation.quotes) {
          // A quote narrower than its provision names its own sub-section, linked to it.
          const narrower = quote.subsection && quote.citation !== citation.citation;
          block.append(el("blockquote", {}, ...paragraphs(quote.text, terms),
            narrower ? citationLink(quote.citation, citation.act_key, citation.section, quote.subsection, "quote-cite") : null));
        }
        answerBox.append(block);
      }
    }
    if (answer.related.length) {
      answerBox.append(el("h3", { text: "Related provisions" }));
      const list = el("ul", { class: "refs" });
      for (const related of answer.related) {
        list.append(el("li", {}, citationLink(related.citation, related.act_key, related.section),
          extraHeading(related.citation, related.heading) ? ` — ${related.heading}` : ""));
      }
      answerBox.append(list);
    }
    if (answer.abstained && answer.nearest.length) {
      answerBox.append(el("h3", { text: "Nearest matches (not an answer)" }));
      const list = el("ol", { class: "cards" });
      for (const hit of answer.nearest) list.append(hitCard(hit, terms, "Nearest match — not an answer"));
      answerBox.append(list);
    }
    show(answerBox, true);
  }

  // ---------------------------------------------------------------- provision view
  // Sub-units nest by span: (1) holds (1)(a), which holds (1)(a)(i).
  function unitTree(units) {
    const sorted = [...units].sort((a, b) => a.char_start - b.char_start || b.char_end - a.char_end);
    const roots = [];
    const stack = [];
    for (const unit of sorted) {
      const node = { unit, children: [] };
      while (stack.length && unit.char_start >= stack[stack.length - 1].unit.char_end) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent && unit.char_end <= parent.unit.char_end) parent.children.push(node); else roots.push(node);
      stack.push(node);
    }
    return roots;
  }

  function renderSpan(text, start, end, nodes, focusPath, container) {
    let position = start;
    for (const node of nodes) {
      const lead = text.slice(position, node.unit.char_start).trim();
      if (lead) container.append(...paragraphs(lead, []));
      const block = el("div", { class: node.unit.path === focusPath ? "unit focus" : "unit", "data-path": node.unit.path,
        "aria-label": node.unit.citation });
      renderSpan(text, node.unit.char_start, node.unit.char_end, node.children, focusPath, block);
      container.append(block);
      position = Math.max(position, node.unit.char_end);
    }
    const tail = text.slice(position, end).trim();
    if (tail) container.append(...paragraphs(tail, []));
  }

  function refList(title, refs, id, emptyText) {
    const nodes = [el("h3", { id, text: title })];
    if (!refs.length) { nodes.push(el("p", { class: "small", text: emptyText })); return nodes; }
    const list = el("ul", { class: "refs", "aria-labelledby": id });
    for (const ref of refs) {
      if (ref.exists) {
        list.append(el("li", {}, citationLink(ref.citation || ref.key, ref.act_key, ref.section),
          extraHeading(ref.citation || ref.key, ref.heading) ? ` — ${ref.heading}` : ""));
      } else {
        list.append(el("li", { class: "missing", text: `${ref.citation || ref.key} (not in the knowledge base)` }));
      }
    }
    nodes.push(list);
    return nodes;
  }

  function renderProvision(p, focus) {
    provisionBox.replaceChildren();
    const back = lastSearchHash ? el("p", {}, el("a", { href: lastSearchHash, text: "← Back to results" })) : null;
    const title = el("h2", { tabindex: "-1", id: "provision-title", text: p.citation });
    provisionBox.append(...[back, title].filter(Boolean));
    if (extraHeading(p.citation, p.heading)) provisionBox.append(el("p", { class: "heading", text: p.heading }));
    if (p.status !== "in_force") provisionBox.append(el("p", {}, el("span", { class: "status-badge", text: `Status: ${p.status}` })));
    const meta = [p.act_title, p.chapter ? `Chapter ${p.chapter}` : null, p.page ? `page ${p.page}` : null].filter(Boolean);
    const metaLine = el("p", { class: "meta small", text: meta.join(" · ") });
    const url = safeUrl(p.source.url);
    if (url) metaLine.append(" · ", el("a", { href: url, rel: "noopener noreferrer", text: "official source" }));
    provisionBox.append(metaLine);

    const body = el("div", { class: "provision-body" });
    // Focus the deepest sub-unit the requested path lies in ("(1)(b)" inside "(1)").
    const focusPath = focus ? p.subunits.map((u) => u.path).filter((path) => focus.startsWith(path))
      .sort((a, b) => b.length - a.length)[0] : null;
    renderSpan(p.text, 0, p.text.length, unitTree(p.subunits), focusPath, body);
    const focused = body.querySelector(".unit.focus");
    if (focused) setTimeout(() => focused.scrollIntoView({ block: "center" }), 0);
    provisionBox.append(body);
    if (p.footnotes.length) {
      provisionBox.append(el("h3", { text: "Amendment history" }));
      const notes = el("ul", { class: "footnotes" });
      for (const note of p.footnotes) notes.append(el("li", { text: note }));
      provisionBox.append(notes);
    }
    provisionBox.append(...refList("Refers to", p.cross_refs, "refs-out", "This provision refers to no other provision."));
    provisionBox.append(...refList("Referred to by", p.referred_by, "refs-in", "No stored provision refers to this one."));
    show(provisionBox, true);
    title.focus();
  }

  // ---------------------------------------------------------------- routes
  async function showProvision(actKey, section, focus) {
    const mine = generation;
    show(intro, false); show(answerBox, false); show(resultsBox, false);
    setStatus("Loading the provision…");
    try {
      const p = await api(`/provisions/${encodeURIComponent(actKey)}/${encodeURIComponent(section)}`);
      if (mine !== generation) return;
      renderProvision(p, focus);
      setStatus("");
      document.title = `${p.citation} — Child protection law`;
    } catch (error) {
      if (mine !== generation) return;
      provisionBox.replaceChildren(el("h2", { text: "Provision" }),
        el("p", { class: "empty", text: error.status === 404 ? "No provision found." : error.message }));
      show(provisionBox, true);
      setStatus(error.status === 404 ? "No provision found." : "The provision could not be loaded.");
    }
  }

  async function runSearch(params) {
    const mine = generation;
    const q = params.get("q") || "";
    const mode = params.get("mode") === "search" ? "search" : "ask";
    const offset = Number.parseInt(params.get("offset") || "0", 10) || 0;
    input.value = q;
    const chosen = params.get("audience") || "lawyer";
    const radio = form.querySelector(`input[name=audience][value="${CSS.escape(chosen)}"]`);
    if (radio) radio.checked = true;
    if (params.get("act") !== null) actSelect.value = params.get("act") || "";
    typeSelect.value = params.get("type") || "";
    show(intro, false); show(provisionBox, false);
    if (!q) { setStatus("Type something to search for."); return; }
    lastSearchHash = location.hash;
    document.title = `${q} — Child protection law`;
    const terms = queryTerms(q);
    const search = new URLSearchParams({ q, offset: String(offset) });
    if (params.get("act")) search.append("act", params.get("act"));
    if (params.get("type")) search.append("doc_type", params.get("type"));
    const searchKey = search.toString();
    const askKey = JSON.stringify([q, chosen, params.get("act"), params.get("type")]);
    const tasks = [];
    setStatus("Searching…");
    if (searchKey !== lastSearchKey || resultsBox.hidden) {
      tasks.push(api(`/search?${searchKey}`).then((data) => {
        if (mine !== generation) return data;
        renderResults(data, terms, params); lastSearchKey = searchKey; return data;
      }));
    }
    if (mode === "ask" && offset === 0) {
      if (askKey !== lastAskKey || answerBox.hidden) {
        const filters = {};
        if (params.get("act")) filters.acts = [params.get("act")];
        if (params.get("type")) filters.doc_types = [params.get("type")];
        tasks.push(api("/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question: q, audience: chosen, filters }),
        }).then((answer) => {
          if (mine !== generation) return answer;
          renderAnswer(answer, terms); lastAskKey = askKey; return answer;
        }));
      }
    } else {
      show(answerBox, false); lastAskKey = "";
    }
    const outcomes = await Promise.allSettled(tasks);
    if (mine !== generation) return;
    // Search always ranks something; after an abstained answer say plainly what the list is.
    const resultsTitle = $("#results-title");
    if (resultsTitle) {
      resultsTitle.textContent = answerBox.classList.contains("abstained") && !answerBox.hidden
        ? "Closest provisions (they do not answer the question)" : "Provisions found";
    }
    const failed = outcomes.find((o) => o.status === "rejected");
    if (failed) {
      setStatus(`Search failed: ${failed.reason.message}`);
    } else if (!resultsBox.hidden) {
      const count = resultsBox.querySelectorAll(".cards > .card").length;
      setStatus(count ? `${count} provision${count === 1 ? "" : "s"} shown.` : "No provision found.");
    }
  }

  function route() {
    generation += 1;
    const hash = location.hash || "#/";
    const provisionMatch = hash.match(/^#\/provisions\/([^/?]+)\/([^?]+)(?:\?(.*))?$/);
    if (provisionMatch) {
      const focus = new URLSearchParams(provisionMatch[3] || "").get("focus");
      showProvision(decodeURIComponent(provisionMatch[1]), decodeURIComponent(provisionMatch[2]), focus);
      return;
    }
    const params = currentParams();
    if (params) { runSearch(params); return; }
    show(answerBox, false); show(resultsBox, false); show(provisionBox, false); show(intro, true);
    setStatus("");
  }

  // ---------------------------------------------------------------- events
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) { setStatus("Type something to search for."); input.focus(); return; }
    lastAskKey = ""; lastSearchKey = "";
    go(searchHash("ask", 0));
  });
  $("#search-button").addEventListener("click", () => {
    if (!input.value.trim()) { setStatus("Type something to search for."); input.focus(); return; }
    lastSearchKey = "";
    go(searchHash("search", 0));
  });
  for (const radio of form.querySelectorAll("input[name=audience]")) {
    radio.addEventListener("change", () => {
      const params = currentParams();
      if (params && params.get("q")) {
        params.set("audience", audience());
        params.set("mode", "ask");
        params.delete("offset");
        go(`#/search?${params.toString()}`);
      }
    });
  }
  for (const select of [actSelect, typeSelect]) {
    select.addEventListener("change", () => { if (input.value.trim() && currentParams()) go(searchHash("ask", 0)); });
  }
  keyInput.addEventListener("change", () => {
    apiKey = keyInput.value.trim();
    sessionStorage.setItem("kb-api-key", apiKey);
    route();
    if (actSelect.options.length <= 1) loadActs();
  });
  window.addEventListener("hashchange", route);

  loadActs();
  route();
})();
