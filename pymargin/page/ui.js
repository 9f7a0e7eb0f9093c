// The page's user interface: load a proof (drop, pick or paste), run verify.js, show the figures,
// positions, leaf hash, the path level by level, the registry's figures and one verdict. Every value
// from the proof or the chain is shown with textContent, never parsed as HTML.
"use strict";
const $ = (id) => document.getElementById(id);

/** A WAD amount as a decimal number of quote units, exact (trailing zeros dropped). */
function formatWad(x) {
  const sign = x < 0n ? "-" : "";
  const a = x < 0n ? -x : x;
  const frac = (a % WAD).toString().padStart(18, "0").replace(/0+$/, "");
  return sign + (a / WAD).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? "." + frac : "");
}

function element(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function table(target, header, rows) {
  const t = element("table");
  const head = element("tr");
  header.forEach((h) => head.appendChild(element("th", h)));
  t.appendChild(head);
  for (const row of rows) {
    const tr = element("tr");
    row.forEach((cell) => tr.appendChild(element("td", String(cell))));
    t.appendChild(tr);
  }
  target.appendChild(t);
}

function section(target, title) {
  const s = element("section");
  s.appendChild(element("h2", title));
  target.appendChild(s);
  return s;
}

function showAccount(target, proof, offline) {
  const s = section(target, `Account ${proof.accountId} — epoch ${proof.epoch}`);
  const ratio = offline.mm === 0n ? "∞ (no maintenance margin)" : formatWad(floorDiv(offline.equity * WAD, offline.mm));
  table(s, ["figure", "quote units", "WAD (exact)"], [
    ["collateral", formatWad(proof.leaf.collateral), proof.leaf.collateral],
    ["equity", formatWad(offline.equity), offline.equity],
    ["maintenance margin", formatWad(offline.mm), offline.mm],
    ["initial margin", formatWad(offline.im), offline.im],
    ["margin ratio equity / mm (Floor)", ratio, ""],
    ["liability counted in the tree max(equity, 0)", formatWad(offline.liability), offline.liability],
  ]);
  const positions = proof.leaf.slots.filter((p) => !isEmpty(p));
  s.appendChild(element("h3", "Positions as committed"));
  if (!positions.length) s.appendChild(element("p", "No open positions."));
  else {
    table(s, ["market", "size", "cost basis", "funding index", "price", "imf", "mmf"], positions.map((p) => {
      const m = proof.markets.get(p.market_id);
      return [p.market_id, formatWad(p.size), formatWad(p.cost_basis), formatWad(p.funding_index), formatWad(m.price_wad), formatWad(m.imf_wad), formatWad(m.mmf_wad)];
    }));
  }
  if (proof.rows) {  // an options holder: its option slots and the rows of the option tables its figures read
    s.appendChild(element("h3", `Option positions as committed (${proof.rows.slots} slots; figures from the epoch's option tables)`));
    table(s, ["row", "series", "size", "value v per unit", "short-option minimum per unit"], proof.leaf.options.filter((o) => o.size !== 0n).map((o) => {
      const row = proof.rows.rows.get(o.row);
      return [o.row, row ? row.series_id : "(not in the proof)", formatWad(o.size), row ? formatWad(row.value) : "", row ? formatWad(row.som) : ""];
    }));
    s.appendChild(element("p", `Equity adds ⌊Σ size·v⌋; maintenance margin is the portfolio's worst scenario loss per underlying (${proof.rows.rowsPerUnderlying} rows each), initial margin ⌈mm × ${formatWad(proof.rows.multiple)}⌉.`));
  }
}

function showPath(target, offline) {
  const s = section(target, "Leaf and path to the root, recomputed here");
  s.appendChild(element("p", `Leaf hash (Poseidon, recomputed): ${hashHex(offline.leafHash)}`, "mono"));
  table(s, ["level", "our node is", "sibling hash", "sibling liabilities", "sibling mm", "parent hash", "liabilities = ours + sibling", "mm = ours + sibling"],
    offline.levels.map((l) => [l.level, `${l.side} child`, hashHex(l.sibling.hash), l.sibling.equity, l.sibling.mm, hashHex(l.node.hash),
      `${l.node.equity} = ${l.child.equity} + ${l.sibling.equity} ✓`, `${l.node.mm} = ${l.child.mm} + ${l.sibling.mm} ✓`]));
  s.appendChild(element("p", `Root: hash ${hashHex(offline.root.hash)}, total liabilities ${formatWad(offline.root.equity)}, total maintenance margin ${formatWad(offline.root.mm)} — equal to the proof's root.`, "mono"));
}

function showFigures(target, figures) {
  const s = section(target, `Recorded by the registry for this epoch (chain ${figures.chainId})`);
  table(s, ["figure", "value"], [
    ["root hash", hashHex(figures.rootHash)],
    ["liabilities L = Σ max(equity, 0)", formatWad(figures.liabilitiesWad)],
    ["reserves (vault − owner fees)", formatWad(figures.reservesWad)],
    ["reserves cover L", figures.reservesWad >= figures.liabilitiesWad ? "yes" : "NO"],
    ["insurance fund", formatWad(figures.insuranceFundWad)],
    ["unsettled bad debt (deficit)", formatWad(figures.deficitWad)],
    ["Σ maintenance margin", formatWad(figures.mmWad)],
    ["Σ initial margin", formatWad(figures.imWad)],
    ["accounts below maintenance margin", figures.belowMmCount],
    ["Σ shortfall max(mm − equity, 0)", formatWad(figures.shortfallWad)],
    ["accounts", figures.accountCount],
    ["Σ collateral", formatWad(figures.collateralWad)],
    ["checkpoint block", figures.checkpointBlock],
    ["posted at (unix time)", figures.postedAt],
  ]);
}

/** One proof's verdict line. */
function verdictOf(result, offline) {
  if (!result.ok) return ["fail", `FAILED: ${result.reason}`];
  if (result.checks.on_chain) {
    return ["ok", `VERIFIED: account ${result.account} is in the root the registry recorded for epoch ${result.epoch}, with equity ${formatWad(offline.equity)} and the figures below.`];
  }
  return ["partial", `PASSED OFFLINE: the account data and the path lead to the proof's root for epoch ${result.epoch}. Give an RPC URL and the registry address to check that root is the one posted on chain.`];
}

/** Checks each proof document in turn (one per sub-account) and shows one verdict for all of them. */
async function verifyAll(docs) {
  if (!docs.length) docs = [null];
  const details = $("details");
  details.replaceChildren();
  const verdict = $("verdict");
  verdict.className = "verdict busy";
  verdict.textContent = "Checking…";
  const url = $("rpc").value.trim();
  const registry = $("registry").value.trim();
  const askRegistry = $("ask-registry").checked;
  const optionsVerifier = $("options-verifier").value.trim();
  const results = [];
  for (const doc of docs) {
    const box = element("div", undefined, "proof");
    details.appendChild(box);
    let outcome;
    if (doc === null) outcome = { result: { ok: false, reason: "the file is not JSON: give the inclusion proof file the venue gave you" } };
    else {
      try {
        outcome = await runVerification(doc, url, registry, askRegistry, optionsVerifier);
      } catch (e) {  // a bug of this page, not a verdict on the proof: say so rather than hang on "Checking…"
        outcome = { result: { ok: false, reason: `the page failed: ${e}` } };
      }
    }
    const [cls, text] = verdictOf(outcome.result, outcome.offline);
    box.appendChild(element("div", text, `verdict ${cls}`));
    if (outcome.offline) { showAccount(box, outcome.proof, outcome.offline); showPath(box, outcome.offline); }
    if (outcome.figures) showFigures(box, outcome.figures);
    results.push(outcome.result);
  }
  const failed = results.filter((r) => !r.ok).length;
  if (docs.length === 1) {  // the one verdict moves to the top
    const only = details.firstChild.firstChild;
    verdict.className = only.className;
    verdict.textContent = only.textContent;
    only.remove();
  } else if (failed) {
    verdict.className = "verdict fail";
    verdict.textContent = `FAILED: ${failed} of ${docs.length} proofs do not verify (reasons below).`;
  } else {
    const onChain = results.every((r) => r.checks.on_chain);
    verdict.className = onChain ? "verdict ok" : "verdict partial";
    verdict.textContent = onChain ? `VERIFIED: all ${docs.length} accounts are in the root the registry recorded (details below).`
      : `PASSED OFFLINE: all ${docs.length} proofs lead to their roots; give an RPC URL and the registry address to check them on chain.`;
  }
  $("result-json").textContent = `[${results.map(resultJson).join(",")}]`;
  document.body.dataset.state = "done";
}

function parseJson(text) {
  try { return JSON.parse(text); } catch (e) { return null; }
}

function verifyText(text) {
  $("proof-text").value = text;
  return verifyAll([parseJson(text)]);
}

async function verifyFiles(files) {
  const texts = await Promise.all(Array.from(files, (f) => f.text()));
  $("proof-text").value = texts.length === 1 ? texts[0] : "";
  return verifyAll(texts.map(parseJson));
}

window.addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files.length) verifyFiles(e.dataTransfer.files); });
  $("file").addEventListener("change", (e) => { if (e.target.files.length) verifyFiles(e.target.files); });
  $("check").addEventListener("click", () => verifyText($("proof-text").value));
  // #rpc=...&registry=...[&ask-registry=1][&options-verifier=0x...]&proofs=<base64url of a JSON array of proofs>: a link that checks at once
  // (the fragment after # is never sent to any server).
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("rpc")) $("rpc").value = params.get("rpc");
  if (params.get("registry")) $("registry").value = params.get("registry");
  if (params.get("ask-registry") === "1") $("ask-registry").checked = true;
  if (params.get("options-verifier")) $("options-verifier").value = params.get("options-verifier");
  if (params.get("proofs")) {
    const b64 = params.get("proofs").replace(/-/g, "+").replace(/_/g, "/");
    const docs = parseJson(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    verifyAll(Array.isArray(docs) ? docs : [null]);
  }
});
