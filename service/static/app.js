// The search page: talks only to the JSON API (/api/search, /api/documents/{id}; with several
// collections, the picker's /api/collections/{name}/search and .../documents/{id}).
"use strict";

const $ = (id) => document.getElementById(id);
const QUESTION_WORDS = /多少|什么|哪些|哪个|哪里|哪|是谁|谁|几|吗|呢|如何|怎么|是否|请问/g;

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// Query words to highlight: stretches of 2+ characters shared by the question and the passage.
function termMask(text, query) {
  const q = query.replace(QUESTION_WORDS, " ").toLowerCase();
  const lower = text.toLowerCase();
  const mask = new Array(text.length).fill(false);
  for (let i = 0; i < lower.length; i++) {
    let len = 0;
    while (i + len < lower.length && /[\p{L}\p{N}]/u.test(lower[i + len]) && q.includes(lower.slice(i, i + len + 1))) len++;
    if (len >= 2) { for (let j = i; j < i + len; j++) mask[j] = true; i += len - 1; }
  }
  return mask;
}

// Append text[from, to) to `parent`, with query words in <b class="term">.
function appendWithTerms(parent, text, terms, from, to) {
  let i = from;
  while (i < to) {
    let j = i + 1;
    while (j < to && terms[j] === terms[i]) j++;
    const run = document.createTextNode(text.slice(i, j));
    if (terms[i]) {
      const b = document.createElement("b");
      b.className = "term";
      b.appendChild(run);
      parent.appendChild(b);
    } else {
      parent.appendChild(run);
    }
    i = j;
  }
}

// The API counts offsets in characters as Python does (code points); a JS string counts UTF-16
// units, two for a character outside the BMP (an emoji, a CJK Extension B ideograph). units[n] is
// where the n-th character of `text` starts, units[count] its length.
function codeUnitOffsets(text) {
  const units = [0];
  for (const ch of text) units.push(units[units.length - 1] + ch.length);
  return units;
}

// A code-point offset as a UTF-16 index into the text of `units`, held inside the text.
function unitAt(units, offset) {
  return units[Math.max(0, Math.min(offset, units.length - 1))];
}

function newMark(className) {
  const mark = document.createElement("mark");
  mark.className = className;
  return mark;
}

// Render a passage: the evidence sentence [evStart, evEnd) in one <mark class="evidence">, and the
// answer [anStart, anEnd) in a <mark class="answer"> (inside the evidence mark where it lies inside
// the sentence). Offsets are code points into `text`; all text goes in as text nodes.
function renderPassage(parent, text, query, evStart, evEnd, anStart = null, anEnd = null) {
  const terms = termMask(text, query);
  const units = codeUnitOffsets(text);
  const evA = unitAt(units, evStart);
  const evB = Math.max(evA, unitAt(units, evEnd));
  const hasAnswer = anStart !== null && anEnd !== null && anStart < anEnd;
  const anA = hasAnswer ? unitAt(units, anStart) : evA;
  const anB = hasAnswer ? Math.max(anA, unitAt(units, anEnd)) : evA;
  const cuts = [...new Set([0, evA, evB, anA, anB, text.length])].sort((a, b) => a - b);
  let evidence = null;  // the evidence mark while the pieces are inside the sentence
  for (let i = 0; i < cuts.length; i++) {
    const [from, to] = [cuts[i], cuts[i + 1]];
    if (from === evA) parent.appendChild(evidence = newMark("evidence"));  // once, even if empty
    if (from === evB) evidence = null;
    if (to === undefined) break;
    let target = evidence || parent;
    if (hasAnswer && from >= anA && to <= anB) target = target.appendChild(newMark("answer"));
    appendWithTerms(target, text, terms, from, to);
  }
}

// The collection searched: null for the server's default (/api/search), else a name from the picker,
// which is shown only when the server holds more than one collection.
let collection = null;
function apiBase() {
  return collection === null ? "/api" : `/api/collections/${encodeURIComponent(collection)}`;
}

// Fills the picker from /api/collections; the URL's c, else "default", else the first is chosen.
async function loadCollections(wanted) {
  let listed = [];
  try {
    listed = (await apiGet("/api/collections")).collections.map((c) => c.name);
  } catch {
    return;
  }
  const picker = $("collection");
  if (listed.length > 1 && picker.options.length === 0) {
    for (const name of listed) picker.append(new Option(name === "default" ? "默认文章集" : name, name));
    picker.hidden = false;
  }
  const name = listed.includes(wanted) ? wanted : listed.includes("default") ? "default" : listed[0];
  if (listed.length > 1) picker.value = name;
  setCollection(listed.length > 1 || !listed.includes("default") ? name ?? null : null);
}

function setCollection(name) {
  if (name !== collection) documentInfo = null;
  collection = name;
}

function withCollection(params) {
  if (collection !== null && !$("collection").hidden) params.set("c", collection);
  return params;
}

function articleLink(result, query) {
  const params = new URLSearchParams({ doc: result.doc_id, start: result.start, end: result.end, q: query });
  return "/?" + withCollection(params).toString();
}

// Dates are not part of a search result; the documents list has them (fetched once per collection).
let documentInfo = null;
async function loadDocumentInfo() {
  if (documentInfo === null) {
    try {
      const { documents } = await apiGet(`${apiBase()}/documents`);
      documentInfo = Object.fromEntries(documents.map((d) => [d.doc_id, d]));
    } catch {
      documentInfo = {};
    }
  }
  return documentInfo;
}

// "答案：…" at the top of a result the reader marked an answer in, with the reader's probability.
function answerLine(answer) {
  const line = document.createElement("p");
  line.className = "answer-line";
  const text = document.createElement("strong");
  text.className = "answer-text";
  text.textContent = answer.text;
  const score = document.createElement("span");
  score.className = "answer-score";
  score.textContent = `（阅读把握 ${Math.round(answer.score * 100)}%）`;
  score.title = "阅读模型认为这段文字回答了问题的概率";
  line.append("答案：", text, score);
  return line;
}

function showResults(data, info) {
  const list = $("results");
  list.replaceChildren();
  // The ranking stage says when even the best passage is unlikely to answer: say so above them.
  $("no-answer").hidden = !(data.no_answer && data.results.length > 0);
  if (data.results.length === 0) {
    setStatus("没有找到相关段落。请换个说法，或换用其他检索方式。");
    return;
  }
  setStatus(`找到 ${data.results.length} 个段落（${data.took_ms.toFixed(0)} 毫秒）`);
  for (const r of data.results) {
    const li = document.createElement("li");
    li.className = "result";
    const h = document.createElement("h2");
    h.textContent = `${r.rank}. ${r.title}`;
    const meta = document.createElement("p");
    meta.className = "meta";
    const cite = document.createElement("a");
    cite.className = "cite";
    cite.href = articleLink(r, data.query);
    cite.textContent = `${r.doc_id} 第 ${r.start}–${r.end} 字`;
    cite.title = "打开原文并定位到引用段落";
    const date = document.createElement("span");
    date.className = "date";
    date.textContent = [info[r.doc_id] && info[r.doc_id].date, r.source].filter(Boolean).join(" · ");
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = r.confidence === null || r.confidence === undefined
      ? `得分 ${r.score.toFixed(4)}`
      : `可信度 ${Math.round(r.confidence * 100)}%`;
    meta.append(cite, date, score);
    const p = document.createElement("p");
    p.className = "passage";
    const answer = r.answer || null;
    renderPassage(p, r.text, data.query, r.evidence.start - r.start, r.evidence.end - r.start,
      answer && answer.start - r.start, answer && answer.end - r.start);
    const open = document.createElement("a");
    open.href = cite.href;
    open.className = "open";
    open.textContent = "查看原文 →";
    li.append(h);
    if (answer) li.append(answerLine(answer));
    li.append(meta, p, open);
    list.appendChild(li);
  }
}

async function apiGet(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body && body.error ? body.error.message : `服务器错误 ${response.status}`);
  return body;
}

async function runSearch(query, mode) {
  $("article").hidden = true;
  $("no-answer").hidden = true;
  $("results").hidden = false;
  $("results").replaceChildren();
  if (!query.trim()) { setStatus("请输入问题。"); return; }
  setStatus("正在检索…");
  document.body.setAttribute("aria-busy", "true");
  try {
    const [data, info] = await Promise.all([
      apiGet(`${apiBase()}/search?${new URLSearchParams({ q: query, mode })}`), loadDocumentInfo(),
    ]);
    showResults(data, info);
  } catch (err) {
    setStatus(`检索失败：${err.message}`, true);
  } finally {
    document.body.removeAttribute("aria-busy");
  }
}

async function showArticle(docId, start, end, query) {
  $("results").hidden = true;
  $("no-answer").hidden = true;
  $("article").hidden = false;
  $("back").href = query ? "/?" + withCollection(new URLSearchParams({ q: query })) : "/";
  setStatus("正在打开原文…");
  try {
    const doc = await apiGet(`${apiBase()}/documents/${encodeURIComponent(docId)}`);
    $("article-title").textContent = doc.title;
    const box = $("article-text");
    // Highlight only a real span of the text; a hand-edited URL (end before start, past the end)
    // shows the article once, unmarked, rather than repeating or marking the wrong text.
    const units = codeUnitOffsets(doc.text);  // the offsets count code points, as the API does
    const cited = start !== null && end !== null && start < end && end < units.length;
    $("article-meta").textContent = [doc.date, doc.source, cited ? `引用：第 ${start}–${end} 字` : ""]
      .filter(Boolean).join(" · ");
    if (!cited) {
      box.replaceChildren(document.createTextNode(doc.text));
      setStatus("");
      return;
    }
    const [a, b] = [units[start], units[end]];
    const mark = document.createElement("mark");
    mark.id = "cited";
    mark.textContent = doc.text.slice(a, b);
    box.replaceChildren(document.createTextNode(doc.text.slice(0, a)), mark, document.createTextNode(doc.text.slice(b)));
    setStatus("");
    mark.scrollIntoView({ block: "center" });
  } catch (err) {
    setStatus(`无法打开原文：${err.message}`, true);
  }
}

// A character offset from the URL: a plain whole number, else null.
function offset(text) {
  return text !== null && /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
}

const MODES = ["hybrid", "bm25", "dense"];

async function route() {
  const params = new URLSearchParams(location.search);
  await loadCollections(params.get("c"));
  const query = params.get("q") || "";
  $("q").value = query;
  $("mode").value = MODES.includes(params.get("mode")) ? params.get("mode") : "hybrid";
  if (params.has("doc")) {
    showArticle(params.get("doc"), offset(params.get("start")), offset(params.get("end")), query);
  } else if (query) {
    runSearch(query, $("mode").value);
  }
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = $("q").value;
  const mode = $("mode").value;
  if (!$("collection").hidden) setCollection($("collection").value);
  const params = withCollection(new URLSearchParams({ q: query }));
  if (mode !== "hybrid") params.set("mode", mode);
  history.pushState(null, "", "/?" + params.toString());
  runSearch(query, mode);
});
window.addEventListener("popstate", route);
route();
