// The regulators' console. Reads the regulator API of the gateway that
// served it (same origin, the browser's client certificate) and proves what
// it shows with proofs.js (and sm3.js for an SM3 log): the checkpoint's signature against the pinned key,
// consistency with the last checkpoint this browser verified, the inclusion
// of every leaf it displays.
"use strict";

const T = {
  zh: {
    title: "监管控制台", nav_overview: "概览", nav_explorer: "日志浏览", nav_report: "履行报告",
    nav_trust: "验证公钥", no_key: "尚未固定日志验证公钥：签名无法验证。请在“验证公钥”中输入线下获得的公钥。",
    checkpoint: "检查点", size: "大小", consistency: "一致性", refresh: "刷新", period: "期间", day: "日",
    month: "月", show: "显示", cst: "（中国标准时间）", exchanges: "交换总数", served: "已提供",
    refused: "已拒绝", by_pair: "按区域（调用方 → 提供方）", by_resource: "按资源", by_code: "拒绝原因",
    busiest: "调用最多的成员", refused_most: "被拒绝最多的成员", never_used: "期间内未使用的清单条目",
    log_size: "日志大小（按小时）", f_from: "起", f_to: "止", f_consumer: "调用方", f_provider: "提供方",
    f_resource: "资源", f_entry: "清单条目", f_outcome: "结果", f_code: "问题代码", f_start: "起始序号",
    search: "查询", prev: "上一页", next: "下一页", latest: "最新", leaf: "日志记录", csv: "下载 CSV", xlsx: "下载 XLSX",
    drill: "点击条目查看其日志记录。", pin: "固定", show_served: "显示网关提供的公钥（请线下核对）",
    pinned: "已固定", verified: "已验证", failed: "验证失败", unverified: "未验证（未固定公钥）",
    trust_intro: "请输入从日志运营方线下获得的验证公钥（name+keyid+base64）。控制台只信任您固定的公钥，不会仅凭网关提供的公钥验证。",
    first_seen: "首次验证（无先前记录）", fork: "严重：日志分叉或回滚", from: "调用方区域", to: "提供方区域",
    count: "数量", member: "成员", entry: "条目", resource: "资源", provider: "提供方", calls: "调用",
    rate: "提供方成功率", p95: "P95 时延 (ms)", quota_refused: "配额拒绝", time: "时间", index: "序号",
    window: "序号范围", shown: "条显示", proof: "包含证明", none: "（无）", hour: "时间（小时）",
    served_refused: "已提供 / 已拒绝",
  },
  en: {
    title: "Regulators' console", nav_overview: "Overview", nav_explorer: "Log explorer",
    nav_report: "Fulfilment report", nav_trust: "Verifier key",
    no_key: "No log verifier key is pinned: signatures cannot be checked. Enter the key you got out of band under “Verifier key”.",
    checkpoint: "Checkpoint", size: "size", consistency: "consistency", refresh: "Refresh", period: "Period",
    day: "Day", month: "Month", show: "Show", cst: "(China Standard Time)", exchanges: "Exchanges",
    served: "Served", refused: "Refused", by_pair: "By region (consumer → provider)", by_resource: "By resource",
    by_code: "Refusals by code", busiest: "Busiest consumers", refused_most: "Most refused consumers",
    never_used: "List entries never used in the period", log_size: "Log size (hourly)", f_from: "From",
    f_to: "To", f_consumer: "Consumer", f_provider: "Provider", f_resource: "Resource", f_entry: "Entry",
    f_outcome: "Outcome", f_code: "Code", f_start: "Start index", search: "Search", prev: "Previous",
    next: "Next", latest: "Latest", leaf: "Leaf", csv: "Download CSV", xlsx: "Download XLSX", drill: "Click an entry to see its leaves.",
    pin: "Pin", show_served: "Show the key the gateway serves (check it out of band)", pinned: "Pinned",
    verified: "verified", failed: "FAILED", unverified: "not verified (no key pinned)",
    trust_intro: "Enter the verifier key (name+keyid+base64) you got from the log operator out of band. The console trusts only the key you pin, never the key the gateway serves by itself.",
    first_seen: "first verification (nothing earlier)", fork: "SEVERE: the log forked or rolled back",
    from: "From region", to: "To region", count: "Count", member: "Member", entry: "Entry", resource: "Resource",
    provider: "Provider", calls: "Calls", rate: "Provider success", p95: "P95 latency (ms)",
    quota_refused: "Quota refusals", time: "Time", index: "Index", window: "Indices", shown: "shown",
    proof: "Inclusion proof", none: "(none)", hour: "Time (hour)", served_refused: "Served / refused",
  },
};

const FIELDS = {
  v: ["记录格式版本", "Record version"], time: ["时间", "Time"], request_id: ["请求编号", "Request id"],
  node: ["网关节点", "Node"], api: ["接口", "API"], consumer: ["调用方", "Consumer"],
  provider: ["提供方", "Provider"], resource: ["资源", "Resource"], purpose: ["用途", "Purpose"],
  service_item: ["事项编码", "Service item"], case_no: ["办件编号", "Case number"],
  entry: ["责任清单条目", "List entry"], items: ["返回数据项", "Items returned"],
  request_digest: ["请求摘要（加盐）", "Request digest (salted)"],
  response_digest: ["响应摘要（加盐）", "Response digest (salted)"],
  native_digest: ["原始应答摘要（加盐）", "Native answer digest (salted)"],
  mapping: ["映射文件摘要", "Mapping file hash"], outcome: ["结果", "Outcome"],
  code: ["问题代码", "Problem code"], status: ["HTTP 状态", "HTTP status"],
  latency_us: ["时延（微秒）", "Latency (µs)"], seal: ["签章核验", "Seal verification"],
};

const PAGE = 50;
// The most indices one filtered page reads: the API's window.
const WINDOW = 1000;
const st = {
  lang: localStorage.getItem("yrdx.lang") || "zh",
  vkey: null,
  cp: null,
  members: new Map(),
  page: { start: null, end: null },
};

const $ = (id) => document.getElementById(id);
const t = (k) => T[st.lang][k] || T.zh[k] || k;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function applyLang() {
  document.documentElement.lang = st.lang === "zh" ? "zh-CN" : "en";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("lang").textContent = st.lang === "zh" ? "English" : "中文";
  document.title = st.lang === "zh" ? "长三角数据交换 · 监管控制台" : "YRD data exchange · regulators' console";
}

async function api(path, as) {
  const r = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (!r.ok) {
    let detail = `${r.status}`;
    try {
      const p = await r.json();
      detail = `${p.code}: ${st.lang === "zh" ? p.message_zh : p.message_en} ${p.detail || ""}`;
    } catch (_) {}
    throw new Error(`${path}: ${detail}`);
  }
  if (as === "response") return r;
  return as === "text" ? r.text() : r.json();
}

function memberLabel(id) {
  if (!id || id === "-") return "-";
  const m = st.members.get(id);
  if (!m) return id;
  const name = st.lang === "en" && m.name_en ? m.name_en : m.name;
  return `${name} (${id})`;
}

function setStatus(id, ok, text) {
  const e = $(id);
  e.className = ok === true ? "ok" : ok === false ? "bad" : "pending";
  e.textContent = text;
}

// ---- the verifier key and checkpoints ----

async function loadKey() {
  const text = localStorage.getItem("yrdx.key");
  $("key-warning").hidden = !!text;
  if (!text) return;
  try {
    st.vkey = await Proofs.parseVerifierKey(text);
    $("key-pinned").textContent = st.vkey.text;
  } catch (e) {
    st.vkey = null;
    $("key-error").textContent = `${t("failed")}: ${e.message}`;
    $("key-warning").hidden = false;
  }
}

function showFork() {
  const msgs = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k.startsWith("yrdx.fork.")) msgs.push(`${k.slice(10)}: ${localStorage.getItem(k)}`);
  }
  const b = $("fork-banner");
  b.hidden = msgs.length === 0;
  b.textContent = msgs.length ? `${t("fork")} — ${msgs.join("; ")}` : "";
}

function recordFork(origin, message) {
  localStorage.setItem(`yrdx.fork.${origin}`, message);
  showFork();
}

async function loadCheckpoint() {
  setStatus("cp-status", null, "…");
  setStatus("cp-consistency", null, "…");
  let cp;
  try {
    const r = await api("/v1/audit/checkpoint", "response");
    // The log's tree hash, as the gateway names it: a wrong name makes every
    // proof fail, never pass.
    const alg = r.headers.get("yrdx-log-hash") || "sha256";
    cp = await Proofs.verifyCheckpoint(await r.text(), st.vkey);
    cp.alg = alg;
  } catch (e) {
    st.cp = null;
    setStatus("cp-status", false, `${t("failed")}: ${e.message}`);
    setStatus("cp-consistency", false, "-");
    return;
  }
  st.cp = cp;
  $("cp-origin").textContent = cp.origin;
  $("cp-size").textContent = cp.size;
  if (!cp.signed) {
    setStatus("cp-status", null, t("unverified"));
    setStatus("cp-consistency", null, t("unverified"));
    return;
  }
  setStatus("cp-status", true, `${t("verified")} ✓ (Ed25519, ${cp.alg.toUpperCase()})`);
  const key = `yrdx.cp.${cp.origin}`;
  const last = JSON.parse(localStorage.getItem(key) || "null");
  if (!last) {
    setStatus("cp-consistency", true, t("first_seen"));
  } else {
    try {
      const lastRoot = Proofs.b64(last.root);
      let proof = [];
      if (last.size > cp.size) {
        throw new Error(`rollback: this browser verified ${last.size} leaves, the gateway now shows ${cp.size}`);
      }
      if (last.size < cp.size && last.size > 0) {
        const p = await api(`/v1/audit/proof/consistency?from=${last.size}&to=${cp.size}`);
        proof = p.proof.map(Proofs.b64);
      }
      await Proofs.verifyConsistency(cp.alg, last.size, cp.size, proof, lastRoot, cp.root);
      setStatus("cp-consistency", true, `${t("verified")} ✓ (${last.size} → ${cp.size})`);
    } catch (e) {
      setStatus("cp-consistency", false, `${t("failed")}: ${e.message}`);
      recordFork(cp.origin, `${e.message} (${new Date().toISOString()})`);
      return;
    }
  }
  localStorage.setItem(key, JSON.stringify({ size: cp.size, root: cp.rootB64 }));
}

// ---- overview ----

// An RFC 3339 UTC time as China Standard Time, `YYYY-MM-DD HH:MM:SS.mmm`.
function cst(time) {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time || "-";
  return new Date(ms + 8 * 3600e3).toISOString().slice(0, 23).replace("T", " ");
}

function cstToday() {
  return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
}

function fillTable(table, head, rows) {
  table.replaceChildren(el("tr", {}, ...head.map((h) => el("th", {}, h))));
  if (rows.length === 0) table.append(el("tr", {}, el("td", { colspan: head.length, class: "muted" }, t("none"))));
  for (const r of rows) table.append(el("tr", {}, ...r.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, c)))));
}

function bar(n, max, cls) {
  const b = el("span", { class: `barfill ${cls || ""}` });
  b.style.width = `${max ? Math.max(1, Math.round((160 * n) / max)) : 0}px`;
  return el("span", {}, b, ` ${n}`);
}

function counts(table, list, label) {
  const max = Math.max(0, ...list.map((c) => c.count));
  fillTable(table, [label, t("count")], list.map((c) => [c.key, bar(c.count, max)]));
}

async function loadOverview() {
  const kind = $("period-kind").value;
  const period = kind === "day" ? $("period-day").value : $("period-month").value;
  if (!period) return;
  const s = await api(`/v1/audit/summary?period=${period}`);
  $("sum-exchanges").textContent = s.exchanges;
  $("sum-served").textContent = s.served;
  $("sum-refused").textContent = s.refused;
  const maxPair = Math.max(0, ...s.by_region_pair.map((p) => p.served + p.refused));
  fillTable($("tbl-pairs"), [t("from"), t("to"), t("served_refused")], s.by_region_pair.map((p) => [
    p.from, p.to, el("span", {}, bar(p.served, maxPair), " / ", bar(p.refused, maxPair, "refused")),
  ]));
  counts($("tbl-resources"), s.by_resource, t("resource"));
  counts($("tbl-codes"), s.refusals_by_code, t("f_code"));
  const named = (list) => list.map((c) => ({ key: memberLabel(c.key), count: c.count }));
  counts($("tbl-busiest"), named(s.busiest_consumers), t("member"));
  counts($("tbl-refused"), named(s.most_refused_consumers), t("member"));
  fillTable($("tbl-never"), [t("entry")], s.never_used.map((e) => [e]));
  fillTable($("tbl-size"), [t("hour"), t("size")], s.log_size.map((p) => [
    new Date(p.time_ms + 8 * 3600e3).toISOString().slice(0, 16).replace("T", " "), p.size,
  ]));
}

// ---- log explorer ----

// The explorer's filters, all applied by the store (`/v1/audit/entries`)
// within the window of indices a page reads.
function filters() {
  const q = new URLSearchParams();
  const time = (v) => `${v.length === 16 ? `${v}:00` : v}+08:00`;
  if ($("f-from").value) q.set("time_from", time($("f-from").value));
  if ($("f-to").value) q.set("time_to", time($("f-to").value));
  for (const [id, name] of [["f-consumer", "consumer"], ["f-provider", "provider"], ["f-resource", "resource"],
    ["f-outcome", "outcome"], ["f-entry", "entry"], ["f-code", "code"]]) {
    const v = $(id).value.trim();
    if (v) q.set(name, v);
  }
  return q;
}

async function proveLeaf(index, leaf) {
  if (!st.cp || !st.cp.signed) throw new Error(t("unverified"));
  const p = await api(`/v1/audit/proof/inclusion?index=${index}&size=${st.cp.size}`);
  await Proofs.verifyInclusion(st.cp.alg, index, st.cp.size, leaf, p.proof.map(Proofs.b64), st.cp.root);
}

// A page of the explorer: without filters the PAGE indices from `start`;
// with filters a window of up to WINDOW indices the store filters, of which
// the first PAGE matches are shown. Without `start`, the latest page — or,
// with a start time, the window from the first leaf at that time.
async function loadPage(start) {
  if (!st.cp) await loadCheckpoint();
  const size = st.cp ? st.cp.size : 0;
  // The previous page's rows go first, so nothing stale is shown (or taken
  // for this page's) while the store answers.
  $("tbl-leaves").replaceChildren();
  const q = filters();
  const filtered = [...q.keys()].length > 0;
  const width = filtered ? WINDOW : PAGE;
  if (start == null && !q.has("time_from")) start = Math.max(0, size - width);
  if (start != null) {
    start = Math.max(0, Math.min(start, size));
    q.set("start", start);
    q.set("end", Math.min(size, start + width));
  }
  const r = await api(`/v1/audit/entries?${q}`, "response");
  const [from, to] = (r.headers.get("yrdx-window") || "").split("-").map(Number);
  const list = await r.json();
  const shown = list.slice(0, PAGE);
  const end = list.length > PAGE ? shown[shown.length - 1].index + 1 : to;
  st.page = { start: from, end, width };
  $("f-start").value = from;
  const rows = shown.map((e) => {
    const leaf = Proofs.b64(e.leaf);
    return { index: e.index, leaf, rec: JSON.parse(new TextDecoder().decode(leaf)) };
  });
  const table = $("tbl-leaves");
  table.replaceChildren(el("tr", {}, ...[t("index"), t("time"), t("f_consumer"), t("f_resource"), t("f_entry"), t("f_outcome"), t("f_code"), t("proof")].map((h) => el("th", {}, h))));
  for (const r of rows) {
    const proof = el("span", { class: "pending", "data-proof": r.index }, "…");
    const tr = el("tr", { "data-index": r.index },
      el("td", { class: "num" }, r.index), el("td", {}, cst(r.rec.time)), el("td", {}, memberLabel(r.rec.consumer)),
      el("td", {}, r.rec.resource || "-"), el("td", {}, r.rec.entry || "-"),
      el("td", {}, t(r.rec.outcome) || r.rec.outcome), el("td", {}, r.rec.code || "-"), el("td", {}, proof));
    tr.addEventListener("click", () => showLeaf(r));
    table.append(tr);
    r.proofCell = proof;
  }
  $("page-info").textContent = `${t("window")} [${from}, ${end}) · ${rows.length} ${t("shown")}`;
  for (const r of rows) {
    try {
      await proveLeaf(r.index, r.leaf);
      r.verified = true;
      r.proofCell.className = "ok";
      r.proofCell.textContent = `${t("verified")} ✓`;
    } catch (e) {
      r.verified = false;
      r.error = e.message;
      r.proofCell.className = "bad";
      r.proofCell.textContent = `${t("failed")}: ${e.message}`;
    }
  }
}

function showLeaf(r) {
  $("leaf-detail").hidden = false;
  $("leaf-index").textContent = r.index;
  const p = $("leaf-proof");
  if (r.verified) setStatus("leaf-proof", true, `${t("verified")} ✓ (${st.cp.origin} @ ${st.cp.size})`);
  else setStatus("leaf-proof", r.verified === false ? false : null, r.verified === false ? `${t("failed")}: ${r.error}` : "…");
  p.dataset.index = r.index;
  const i = st.lang === "zh" ? 0 : 1;
  const rows = Object.entries(r.rec).map(([k, v]) => {
    let shown = typeof v === "object" ? JSON.stringify(v) : String(v);
    if (k === "consumer" || k === "provider") shown = memberLabel(v);
    if (k === "outcome") shown = `${t(v)} (${v})`;
    if (k === "time") shown = `${cst(v)} CST (${v})`;
    return [el("span", { title: k }, FIELDS[k] ? FIELDS[k][i] : k), el("code", {}, shown)];
  });
  fillTable($("tbl-leaf"), [st.lang === "zh" ? "字段" : "Field", st.lang === "zh" ? "值" : "Value"], rows);
  $("leaf-detail").scrollIntoView();
}

// ---- fulfilment report ----

async function loadReport() {
  const period = $("report-period").value;
  if (!period) return;
  // The downloads, with English headers when the page is in English.
  const lang = st.lang === "en" ? "&lang=en" : "";
  for (const format of ["csv", "xlsx"]) {
    $(`report-${format}`).href = `/v1/reports/fulfilment?period=${period}&format=${format}${lang}`;
    $(`report-${format}`).setAttribute("download", `fulfilment-${period}.${format}`);
  }
  const rep = await api(`/v1/reports/fulfilment?period=${period}`);
  const rows = rep.entries.map((e) => {
    const a = el("a", { href: "#" }, e.entry);
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      drill(e, period);
    });
    const refused = Object.values(e.refused).reduce((n, x) => n + x, 0);
    return [a, e.resource, memberLabel(e.provider), e.calls, `${e.served} / ${refused}`,
      e.provider_success_rate == null ? "-" : `${(100 * e.provider_success_rate).toFixed(1)}%`,
      e.latency_ms ? e.latency_ms.p95 : "-", e.quota.refused];
  });
  fillTable($("tbl-report"), [t("entry"), t("resource"), t("provider"), t("calls"), t("served_refused"), t("rate"), t("p95"), t("quota_refused")], rows);
}

function drill(e, period) {
  const [y, m] = period.split("-").map(Number);
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`;
  $("f-from").value = `${period}-01T00:00`;
  $("f-to").value = `${next}-01T00:00`;
  $("f-resource").value = e.resource;
  $("f-provider").value = e.provider;
  $("f-entry").value = e.entry;
  $("f-consumer").value = "";
  $("f-outcome").value = "";
  $("f-code").value = "";
  show("explorer");
  loadPage(null).catch(fail);
}

// ---- wiring ----

function show(view) {
  for (const v of ["overview", "explorer", "report", "trust"]) $(`view-${v}`).hidden = v !== view;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.view === view);
}

function fail(e) {
  const box = $("key-error");
  box.textContent = e.message;
  console.error(e);
}

async function pin(text) {
  $("key-error").textContent = "";
  try {
    const k = await Proofs.parseVerifierKey(text);
    localStorage.setItem("yrdx.key", k.text);
  } catch (e) {
    $("key-error").textContent = `${t("failed")}: ${e.message}`;
    return;
  }
  await loadKey();
  await loadCheckpoint();
}

async function main() {
  applyLang();
  showFork();
  $("lang").addEventListener("click", () => {
    st.lang = st.lang === "zh" ? "en" : "zh";
    localStorage.setItem("yrdx.lang", st.lang);
    applyLang();
    loadReport().catch(fail);
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  $("period-kind").addEventListener("change", () => {
    const day = $("period-kind").value === "day";
    $("period-day").hidden = !day;
    $("period-month").hidden = day;
  });
  $("period-day").value = cstToday();
  $("period-month").value = cstToday().slice(0, 7);
  $("report-period").value = cstToday().slice(0, 7);
  $("period-form").addEventListener("submit", (e) => { e.preventDefault(); loadOverview().catch(fail); });
  $("filter-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const s = $("f-start").value;
    loadPage(s === "" ? null : Number(s)).catch(fail);
  });
  $("page-prev").addEventListener("click", () => loadPage(Math.max(0, (st.page.start || 0) - (st.page.width || PAGE))).catch(fail));
  $("page-next").addEventListener("click", () => loadPage(st.page.end || 0).catch(fail));
  $("page-latest").addEventListener("click", () => loadPage(null).catch(fail));
  $("report-form").addEventListener("submit", (e) => { e.preventDefault(); loadReport().catch(fail); });
  $("refresh").addEventListener("click", () => loadCheckpoint().catch(fail));
  $("key-form").addEventListener("submit", (e) => { e.preventDefault(); pin($("key-input").value); });
  $("key-file").addEventListener("change", async () => {
    const f = $("key-file").files[0];
    if (f) pin(await f.text());
  });
  $("key-served").addEventListener("click", async () => {
    $("key-input").value = (await api("/v1/audit/key", "text")).trim();
  });
  show(new URLSearchParams(location.hash.slice(1)).get("view") || "overview");
  await loadKey();
  try {
    for (const m of await api("/v1/audit/members")) st.members.set(m.id, m);
  } catch (e) {
    fail(e);
  }
  await loadCheckpoint();
  await Promise.all([loadOverview(), loadPage(null), loadReport()]).catch(fail);
  document.body.dataset.ready = "1";
}

main().catch(fail);
