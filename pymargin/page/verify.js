// The verification page's logic: parse an inclusion proof (pymargin-inclusion-v3, or v2), recompute it as
// `pymargin check-inclusion` does (pymargin/commit/inclusion.py: same checks, same order, same
// reasons), and with an RPC URL read the registry's posted root and epoch figures by eth_call.
// Needs keccak.js, poseidon.js and POSEIDON_CONSTANTS. Nothing here touches the network except
// rpcCall, which posts read-only JSON-RPC requests to the URL the user typed.
"use strict";
const FORMAT = "pymargin-inclusion-v3";
const READABLE_FORMATS = [FORMAT, "pymargin-inclusion-v2"];  // v2 wrote the hashes in decimal
const WAD = 10n ** 18n;
const INT256_MIN = -(2n ** 255n);
const INT256_MAX = 2n ** 255n - 1n;
const UINT256_MAX = 2n ** 256n - 1n;
const MAX_POSITIONS = 4;
const ID_BOUND = 2n ** 248n;
const MARKET_ID_BOUND = 2n ** 64n;
const SIZE_BOUND = 2n ** 94n;
const COST_BASIS_BOUND = 2n ** 130n;
const FUNDING_INDEX_BOUND = 2n ** 100n;
const COLLATERAL_BOUND = 2n ** 128n;
const LEAF_SUM_BOUND = 2n ** 140n;
const SUM_BOUND = 2n ** 172n;
const MAX_DEPTH = 32;
const SCENARIO_COUNT = 16;
const TABLE_BOUND = 2n ** 130n;  // |array entry| <= 2^130, 0 <= som, v < 2^130 (pymargin.commit.option_rows)
const MULTIPLE_SPAN = 2n ** 64n;
const MAX_OPTION_SLOTS = 8n;
const DECIMAL = /^-?[0-9]+$/;
const HASH_HEX = /^0x[0-9a-f]{64}$/;
// The custom errors rootOf, epochFigures and verifyInclusionAt can revert with (SolvencyRegistry,
// InclusionVerifier), decoded by name as pymargin prints them; then Solidity's Error and Panic.
const REGISTRY_ERRORS = ["UnknownEpoch(uint256)", "NotAFieldElement(uint256)", "IdHashOutOfRange(uint256)", "SaltOutOfRange(uint256)",
  "MarketIdOutOfRange(uint256)", "CollateralOutOfBounds(int256)", "SizeOutOfBounds(int256)", "CostBasisOutOfBounds(int256)",
  "FundingIndexOutOfBounds(int256)", "SumOutOfRange(uint256)", "DepthOutOfRange(uint256)", "IndexOutOfRange(uint256,uint256)",
  "OptionSlotCount(uint256,uint256)",
  "Error(string)", "Panic(uint256)"];
const VERIFY_INCLUSION_AT = "verifyInclusionAt(uint256,(uint256,uint256,int256,(uint256,int256,int256,int256)[4]),uint256,uint256,uint256,(uint256,uint256,uint256)[])";
const VERIFY_OPTIONS_INCLUSION_AT = "verifyInclusionAt(uint256,(uint256,uint256,int256,(uint256,int256,int256,int256)[4]),(uint256,int256)[],uint256,uint256,uint256,(uint256,uint256,uint256)[])";

/** A check failed; `message` is the reason, worded as check-inclusion words it. */
class VerifyError extends Error {}

/** A contract error mirrored in JS, printed like pymargin's Revert: Name(arg,) / Name(a, b). */
class Revert extends Error {
  constructor(name, args) {
    super(args.length ? `${name}(${args.join(", ")}${args.length === 1 ? "," : ""})` : name);
    this.name = name;
  }
}

const absBig = (x) => (x < 0n ? -x : x);
const floorDiv = (n, d) => { const q = n / d; return (n % d !== 0n && (n < 0n) !== (d < 0n)) ? q - 1n : q; };
const ceilDiv = (n, d) => -floorDiv(-n, d);
function checkedInt(x) { if (x < INT256_MIN || x > INT256_MAX) throw new Revert("Panic", [17n]); return x; }
function checkedUint(x) { if (x < 0n || x > UINT256_MAX) throw new Revert("Panic", [17n]); return x; }
function toInt256(x) { if (x < 0n || x > UINT256_MAX) throw new Revert("Panic", [17n]); if (x > INT256_MAX) throw new Revert("SafeCastOverflow", []); return x; }

/** Python's repr of a node's to_json(): {'hash': '1', 'equity': '2', 'mm': '3'}. */
const nodeRepr = (n) => `{'hash': '${hashHex(n.hash)}', 'liabilities_wad': '${n.equity}', 'mm_wad': '${n.mm}'}`;  // as Node.output_json

// ------------------------------------------------------------------------------------ parsing

function field(obj, key, path) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new VerifyError(`proof: ${path || "the document"} must be an object`);
  if (!Object.prototype.hasOwnProperty.call(obj, key)) throw new VerifyError(`proof: missing field ${path ? path + "." : ""}${key}`);
  return obj[key];
}

/** Python's repr of a JSON value, as check-inclusion quotes a bad field (floats aside). */
function pyRepr(v) {
  if (typeof v === "string") {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    return quote + v.replace(/\\/g, "\\\\").replace(quote === "'" ? /'/g : /"/g, "\\" + quote) + quote;
  }
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  return String(v);
}

function int(obj, key, path) {
  const value = field(obj, key, path);
  if (typeof value !== "string" || !DECIMAL.test(value)) {
    throw new VerifyError(`proof: ${path ? path + "." : ""}${key} must be an integer as a decimal string, got ${pyRepr(value)}`);
  }
  const digits = value.replace(/^-/, "").length;
  if (digits > 78) throw new VerifyError(`proof: ${path ? path + "." : ""}${key} has ${digits} digits, more than any 256-bit value (78)`);
  return BigInt(value);
}

/** A hash: 0x and 64 lower-case hex digits (v3), or a decimal string (v2); mirrors inclusion._hash. */
function hash(obj, key, path) {
  const value = field(obj, key, path);
  if (typeof value === "string" && HASH_HEX.test(value)) return BigInt(value);
  if (typeof value === "string" && DECIMAL.test(value)) return int(obj, key, path);
  throw new VerifyError(`proof: ${path ? path + "." : ""}${key} must be a hash as 0x and 64 hex digits, got ${pyRepr(value)}`);
}

function list(obj, key, path) {
  const value = field(obj, key, path);
  if (!Array.isArray(value)) throw new VerifyError(`proof: ${path ? path + "." : ""}${key} must be a list`);
  return value;
}

/** A value (the field `name`) as an integer written as a decimal string; mirrors inclusion._decimal. */
function decimal(value, name) {
  if (typeof value !== "string" || !DECIMAL.test(value)) throw new VerifyError(`proof: ${name} must be an integer as a decimal string, got ${pyRepr(value)}`);
  const digits = value.replace(/^-/, "").length;
  if (digits > 78) throw new VerifyError(`proof: ${name} has ${digits} digits, more than any 256-bit value (78)`);
  return BigInt(value);
}

const node = (obj, path) => ({ hash: hash(obj, "hash", path), equity: int(obj, "equity", path), mm: int(obj, "mm", path) });
const EMPTY_SLOT = { market_id: 0n, size: 0n, cost_basis: 0n, funding_index: 0n };
const isEmpty = (s) => s.market_id === 0n && s.size === 0n && s.cost_basis === 0n && s.funding_index === 0n;

/** The four slots of the positions (sorted by market id, then empty); mirrors leaf.slots_of. */
function slotsOf(positions, where) {
  if (positions.length > MAX_POSITIONS) throw new VerifyError(`proof: ${where}: ${positions.length} positions, a leaf holds at most ${MAX_POSITIONS}`);
  const ordered = [...positions].sort((a, b) => (a.market_id < b.market_id ? -1 : a.market_id > b.market_id ? 1 : 0));
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i - 1].market_id === ordered[i].market_id) throw new VerifyError(`proof: ${where}: two positions in market ${ordered[i].market_id}`);
  }
  for (const p of ordered) {
    if (p.size === 0n) throw new VerifyError(`proof: ${where}: position in market ${p.market_id} has size 0 (only open positions are committed)`);
  }
  while (ordered.length < MAX_POSITIONS) ordered.push(EMPTY_SLOT);
  return ordered;
}

const byKey = (obj) => Object.entries(obj).sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));

/** The first way the option rows break the tables' bounds, as a reason, or null; mirrors option_rows.check_rows. */
function checkRows(t) {
  if (t.slots < 1n || t.slots > MAX_OPTION_SLOTS) return `option_tables.slots must be in 1..${MAX_OPTION_SLOTS}, got ${t.slots}`;
  if (t.rowsPerUnderlying < 1n || t.rowsPerUnderlying >= 2n ** 64n) return `option_tables.rows_per_underlying must be in [1, 2^64), got ${t.rowsPerUnderlying}`;
  if (t.multiple < WAD || t.multiple >= WAD + MULTIPLE_SPAN) return `option_tables.multiple_wad must be in [WAD, WAD + 2^64), got ${t.multiple}`;
  for (const [r, row] of t.rows) {
    const at = `option_tables.rows.${r}`;
    if (r >= 2n ** 64n) return `${at}: a row must be below 2^64`;
    if (row.series_id < 0n || row.series_id >= 2n ** 64n) return `${at}.series_id must be in [0, 2^64), got ${row.series_id}`;
    if (row.array.length !== SCENARIO_COUNT) return `${at}.array_wad must hold ${SCENARIO_COUNT} values, got ${row.array.length}`;
    for (const a of row.array) if (absBig(a) > TABLE_BOUND) return `${at}.array_wad: ${a} is outside [-2^130, 2^130]`;
    for (const [key, v] of [["som_wad", row.som], ["value_wad", row.value]]) if (v < 0n || v >= TABLE_BOUND) return `${at}.${key} must be in [0, 2^130), got ${v}`;
  }
  for (const [m, r] of t.perpRows) if (r < 0n || r >= 2n ** 64n) return `option_tables.perp_rows.${m} must be in [0, 2^64), got ${r}`;
  return null;
}

/** The option_tables object; mirrors inclusion._option_rows. */
function optionRows(doc) {
  const raw = field(doc, "option_tables", "");
  const rowsRaw = field(raw, "rows", "option_tables");
  const perpRaw = field(raw, "perp_rows", "option_tables");
  for (const [key, value] of [["rows", rowsRaw], ["perp_rows", perpRaw]]) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.keys(value).every((k) => /^(0|[1-9][0-9]*)$/.test(k))) {
      throw new VerifyError(`proof: option_tables.${key} must be an object keyed by decimal integers without leading zeros`);
    }
  }
  const rows = new Map();
  for (const [r, row] of byKey(rowsRaw)) {
    const at = `option_tables.rows.${r}`;
    const array = list(row, "array_wad", at);
    const series_id = int(row, "series_id", at);
    rows.set(BigInt(r), { series_id, array: array.map((a, k) => decimal(a, `${at}.array_wad[${k}]`)), som: int(row, "som_wad", at), value: int(row, "value_wad", at) });
  }
  const perpRows = new Map(byKey(perpRaw).map(([m]) => [BigInt(m), int(perpRaw, m, "option_tables.perp_rows")]));
  const parsed = { slots: int(raw, "slots", "option_tables"), rowsPerUnderlying: int(raw, "rows_per_underlying", "option_tables"),
    multiple: int(raw, "multiple_wad", "option_tables"), rows, perpRows };
  const reason = checkRows(parsed);
  if (reason) throw new VerifyError(`proof: ${reason}`);
  return parsed;
}

/** The leaf's option slots from account.options, then empty ones; mirrors inclusion._option_slots. */
function optionSlots(account, slots, where) {
  const options = list(account, "options", "account").map((raw, i) => ({ row: int(raw, "row", `account.options[${i}]`), size: int(raw, "size", `account.options[${i}]`) }));
  if (!options.length) throw new VerifyError("proof: account.options is empty (a perp-only proof has no options field)");
  if (BigInt(options.length) > slots) throw new VerifyError(`proof: ${where}: ${options.length} option positions, a leaf holds ${slots}`);
  for (let i = 1; i < options.length; i++) {
    if (options[i].row <= options[i - 1].row) throw new VerifyError(`proof: ${where}: option rows must increase, got ${options[i - 1].row} then ${options[i].row}`);
  }
  for (const o of options) if (o.size === 0n) throw new VerifyError(`proof: ${where}: option position in row ${o.row} has size 0`);
  while (BigInt(options.length) < slots) options.push({ row: 0n, size: 0n });
  return options;
}

/** A parsed proof from its JSON document; VerifyError if a field is missing or malformed. */
function parseProof(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc) || !READABLE_FORMATS.includes(doc.format)) throw new VerifyError(`proof: not a ${FORMAT} document`);
  const account = field(doc, "account", "");
  const owner = field(account, "owner", "account");
  if (typeof owner !== "string") throw new VerifyError("proof: account.owner must be a string");
  const sub = int(account, "sub", "account");
  const positions = list(account, "positions", "account").map((raw, i) => {
    const at = `account.positions[${i}]`;
    return { market_id: int(raw, "market_id", at), size: int(raw, "size", at), cost_basis: int(raw, "cost_basis", at), funding_index: int(raw, "funding_index", at) };
  });
  const slots = slotsOf(positions, `${owner}:${sub}`);
  const marketsRaw = field(doc, "markets", "");
  if (marketsRaw === null || typeof marketsRaw !== "object" || Array.isArray(marketsRaw) || !Object.keys(marketsRaw).every((k) => /^(0|[1-9][0-9]*)$/.test(k))) {
    throw new VerifyError('proof: markets must be an object {"<market id>": view}, ids in decimal without leading zeros');
  }
  const markets = new Map();
  const byId = Object.entries(marketsRaw).sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));  // checked in id order, as pymargin
  for (const [mid, view] of byId) {
    const at = `markets.${mid}`;
    const v = { price_wad: int(view, "price_wad", at), funding_index_wad: int(view, "funding_index_wad", at), imf_wad: int(view, "imf_wad", at), mmf_wad: int(view, "mmf_wad", at) };
    for (const key of ["price_wad", "imf_wad", "mmf_wad"]) {
      if (v[key] < 0n || v[key] > UINT256_MAX) throw new VerifyError(`proof: ${at}.${key} must be a uint256, got ${v[key]}`);
    }
    if (v.funding_index_wad < INT256_MIN || v.funding_index_wad > INT256_MAX) throw new VerifyError(`proof: ${at}.funding_index_wad must be an int256, got ${v.funding_index_wad}`);
    markets.set(BigInt(mid), v);
  }
  let rows = null;
  let options = [];
  if (account !== null && typeof account === "object" && !Array.isArray(account) && Object.prototype.hasOwnProperty.call(account, "options")) {
    rows = optionRows(doc);
    options = optionSlots(account, rows.slots, `${owner}:${sub}`);
  }
  return {
    epoch: int(doc, "epoch", ""), depth: int(doc, "depth", ""), index: int(doc, "index", ""), root: node(field(doc, "root", ""), "root"),
    owner, sub, accountId: `${owner}:${sub}`,
    leaf: { id_hash: hash(account, "id_hash", "account"), salt: int(account, "salt", "account"), collateral: int(account, "collateral", "account"), slots, options },
    equity: int(doc, "equity", ""), mm: int(doc, "mm", ""), im: int(doc, "im", ""), liability: int(doc, "liability", ""), leaf_hash: hash(doc, "leaf_hash", ""),
    markets, siblings: list(doc, "siblings", "").map((raw, k) => node(raw, `siblings[${k}]`)), rows,
  };
}

// ------------------------------------------------------------------------------- recomputing

/** uint256(keccak256(utf8(id))) >> 8. */
const accountIdHash = (accountId) => keccak256Utf8(accountId) >> 8n;

/** The contract's bound checks in its order, then Poseidon_11(id, salt, collateral + 2^128, a_0, b_0, ..., a_3, b_3). */
function leafHash(leaf) {
  if (leaf.id_hash < 0n || leaf.id_hash >= ID_BOUND) throw new Revert("IdHashOutOfRange", [leaf.id_hash]);
  if (leaf.salt < 0n || leaf.salt >= ID_BOUND) throw new Revert("SaltOutOfRange", [leaf.salt]);
  if (absBig(leaf.collateral) >= COLLATERAL_BOUND) throw new Revert("CollateralOutOfBounds", [leaf.collateral]);
  for (const s of leaf.slots) {
    if (s.market_id < 0n || s.market_id >= MARKET_ID_BOUND) throw new Revert("MarketIdOutOfRange", [s.market_id]);
    if (absBig(s.size) >= SIZE_BOUND) throw new Revert("SizeOutOfBounds", [s.size]);
    if (absBig(s.cost_basis) >= COST_BASIS_BOUND) throw new Revert("CostBasisOutOfBounds", [s.cost_basis]);
    if (absBig(s.funding_index) >= FUNDING_INDEX_BOUND) throw new Revert("FundingIndexOutOfBounds", [s.funding_index]);
  }
  const packed = (s) => [s.market_id * 2n * SIZE_BOUND + s.size + SIZE_BOUND,
    (s.cost_basis + COST_BASIS_BOUND) * 2n * FUNDING_INDEX_BOUND + s.funding_index + FUNDING_INDEX_BOUND];
  for (const o of leaf.options) {
    if (o.row < 0n || o.row >= MARKET_ID_BOUND) throw new Revert("MarketIdOutOfRange", [o.row]);
    if (absBig(o.size) >= SIZE_BOUND) throw new Revert("SizeOutOfBounds", [o.size]);
  }
  const plain = poseidon([leaf.id_hash, leaf.salt, leaf.collateral + COLLATERAL_BOUND, ...leaf.slots.flatMap(packed)]);
  if (!leaf.options.some((o) => o.size !== 0n)) return plain;  // leaf' = leaf without options (§6.2)
  return poseidon([plain, poseidon(leaf.options.map((o) => o.row * 2n * SIZE_BOUND + o.size + SIZE_BOUND))]);
}

/** The first market of `positions` missing from `markets` (sorted), or undefined. */
const firstMissing = (ids, known) => [...new Set(ids)].filter((m) => !known.has(m)).sort((a, b) => (a < b ? -1 : 1))[0];

/** §4 equity (Floor) at the market views, in MarginMath's checked steps (pymargin.margin.equity). */
function perpEquity(leaf, positions, markets) {
  let value = 0n;
  let cost = 0n;
  for (const p of positions) {
    const m = markets.get(p.market_id);
    const shift = checkedInt(toInt256(m.price_wad) - checkedInt(m.funding_index_wad - p.funding_index));
    value = checkedInt(value + checkedInt(p.size * shift));
    cost = checkedInt(cost + p.cost_basis);
  }
  return checkedInt(checkedInt(leaf.collateral - cost) + floorDiv(value, WAD));
}

/** (equity Floor, mm Ceil, im Ceil) at the market views, in MarginMath's checked steps (pymargin.margin). */
function margins(leaf, markets, where) {
  const positions = leaf.slots.filter((s) => !isEmpty(s));
  const missing = firstMissing(positions.map((p) => p.market_id), markets);
  if (missing !== undefined) throw new VerifyError(`${where}: no market view for market ${missing}`);
  const equity = perpEquity(leaf, positions, markets);
  const requirement = (key) => ceilDiv(positions.reduce((acc, p) => {
    const m = markets.get(p.market_id);
    return checkedUint(acc + checkedUint(checkedUint(absBig(p.size) * m.price_wad) * m[key]));
  }, 0n), WAD * WAD);
  const mm = requirement("mmf_wad");
  const im = requirement("imf_wad");
  return { equity, mm, im };
}

/** §4.1's maintenance margin of one underlying's (size, row) entries: max(0, max_s ⌈−Σ size·array[s] / WAD⌉,
 * ⌈Σ_short |size|·som / WAD⌉), sums checked (pymargin.riskarray.maintenance_margin). */
function underlyingMargin(entries) {
  let worst = 0n;
  for (let s = 0; s < SCENARIO_COUNT; s++) {
    let total = 0n;
    for (const [row, size] of entries) total = checkedInt(total + checkedInt(size * row.array[s]));
    const loss = ceilDiv(checkedInt(-total), WAD);
    if (loss > worst) worst = loss;
  }
  let som = 0n;
  for (const [row, size] of entries) if (size < 0n) som = checkedUint(som + checkedUint(-size * row.som));
  const minimum = ceilDiv(som, WAD);
  return minimum > worst ? minimum : worst;
}

/** An options holder's (E Floor, MM Ceil, IM Ceil) from the proof's option rows (§7.9); mirrors option_rows.option_figures. */
function optionFigures(leaf, rows, markets, where) {
  const positions = leaf.slots.filter((s) => !isEmpty(s));
  const missing = firstMissing(positions.map((p) => p.market_id), markets);
  if (missing !== undefined) throw new VerifyError(`${where}: no market view for market ${missing}`);
  const unmapped = firstMissing(positions.map((p) => p.market_id), rows.perpRows);
  if (unmapped !== undefined) throw new VerifyError(`${where}: no perp row for market ${unmapped}`);
  const entries = [...positions.map((p) => [rows.perpRows.get(p.market_id), p.size]), ...leaf.options.filter((o) => o.size !== 0n).map((o) => [o.row, o.size])];
  const absent = firstMissing(entries.map(([r]) => r), rows.rows);
  if (absent !== undefined) throw new VerifyError(`${where}: row ${absent} is not in the proof's option tables`);
  const value = entries.reduce((acc, [r, size]) => acc + size * rows.rows.get(r).value, 0n);
  const equity = perpEquity(leaf, positions, markets) + floorDiv(value, WAD);
  const underlyings = [...new Set(entries.map(([r]) => r / rows.rowsPerUnderlying))].sort((a, b) => (a < b ? -1 : 1));
  let mm = 0n;
  for (const u of underlyings) mm += underlyingMargin(entries.filter(([r]) => r / rows.rowsPerUnderlying === u).map(([r, size]) => [rows.rows.get(r), size]));
  return { equity, mm, im: ceilDiv(mm * rows.multiple, WAD) };
}

/** A parent node after the contract's input checks (hashes < p, sums < 2^172), and the level's record. */
function parentNode(left, right) {
  for (const [value, isSum] of [[left.hash, false], [left.equity, true], [left.mm, true], [right.hash, false], [right.equity, true], [right.mm, true]]) {
    if (isSum && (value < 0n || value >= SUM_BOUND)) throw new Revert("SumOutOfRange", [value]);
    if (!isSum && (value < 0n || value >= FIELD_P)) throw new Revert("NotAFieldElement", [value]);
  }
  return { hash: poseidon([left.hash, left.equity, left.mm, right.hash, right.equity, right.mm]), equity: left.equity + right.equity, mm: left.mm + right.mm };
}

/** Everything check-inclusion checks offline, in its order; returns the figures and the path, or throws VerifyError. */
function verifyProof(proof) {
  const expectedId = accountIdHash(proof.accountId);
  if (proof.leaf.id_hash !== expectedId) throw new VerifyError(`id_hash ${proof.leaf.id_hash} is not the hash of account ${proof.accountId} (${expectedId})`);
  let hash;
  try { hash = leafHash(proof.leaf); } catch (e) { if (e instanceof Revert) throw new VerifyError(`account data out of bounds: ${e.message}`); throw e; }
  if (hash !== proof.leaf_hash) throw new VerifyError(`leaf_hash ${proof.leaf_hash} does not match the account data (it hashes to ${hash})`);
  let m;
  try {
    m = proof.rows ? optionFigures(proof.leaf, proof.rows, proof.markets, proof.accountId) : margins(proof.leaf, proof.markets, proof.accountId);
    const liability = m.equity > 0n ? m.equity : 0n;
    if (liability >= LEAF_SUM_BOUND || m.mm >= LEAF_SUM_BOUND) throw new VerifyError(`${proof.accountId}: liability ${liability} or maintenance margin ${m.mm} is not below 2^140`);
    m.liability = liability;
  } catch (e) {
    if (e instanceof VerifyError || e instanceof Revert) throw new VerifyError(`cannot recompute the account's margin: ${e.message}`);
    throw e;
  }
  if (m.equity !== proof.equity || m.mm !== proof.mm || m.im !== proof.im || m.liability !== proof.liability) {
    throw new VerifyError(`equity/mm/im/liability in the proof (${proof.equity}, ${proof.mm}, ${proof.im}, ${proof.liability}) differ from those recomputed from the positions at the proof's market views (${m.equity}, ${m.mm}, ${m.im}, ${m.liability})`);
  }
  if (BigInt(proof.siblings.length) !== proof.depth) throw new VerifyError(`${proof.siblings.length} siblings for a tree of depth ${proof.depth}`);
  const levels = [];
  let current = { hash, equity: m.liability, mm: m.mm };
  try {
    const depth = proof.siblings.length;
    if (depth < 1 || depth > MAX_DEPTH) throw new Revert("DepthOutOfRange", [BigInt(depth)]);
    if (proof.index < 0n || proof.index >= 2n ** BigInt(depth)) throw new Revert("IndexOutOfRange", [proof.index, BigInt(depth)]);
    proof.siblings.forEach((sibling, level) => {
      const right = ((proof.index >> BigInt(level)) & 1n) === 1n;
      const next = right ? parentNode(sibling, current) : parentNode(current, sibling);
      levels.push({ level: level + 1, side: right ? "right" : "left", child: current, sibling, node: next });
      current = next;
    });
  } catch (e) {
    if (e instanceof Revert) throw new VerifyError(`the path is malformed: ${e.message}`);
    throw e;
  }
  if (current.hash !== proof.root.hash) {
    throw new VerifyError(`the path from leaf ${proof.index} leads to root hash ${current.hash}, not the committed root ${proof.root.hash}: a sibling, the index or the leaf differs from the tree`);
  }
  if (current.equity !== proof.root.equity || current.mm !== proof.root.mm) {
    throw new VerifyError(`the root totals in the proof (${proof.root.equity}, ${proof.root.mm}) differ from the path's (${current.equity}, ${current.mm})`);
  }
  return { leafHash: hash, ...m, root: current, levels };
}

// ------------------------------------------------------------------------------------ chain

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const selector = (signature) => hex(keccak256(new TextEncoder().encode(signature)).slice(0, 4));
const word = (x) => (x < 0n ? x + (1n << 256n) : x).toString(16).padStart(64, "0");

/** EIP-55 mixed-case checksum of a 0x address. */
function checksumAddress(address) {
  const lower = address.slice(2).toLowerCase();
  const digest = hex(keccak256(new TextEncoder().encode(lower)));
  return "0x" + Array.from(lower, (c, i) => (parseInt(digest[i], 16) >= 8 ? c.toUpperCase() : c)).join("");
}

/** True for a 0x address in one case, or mixed case with a valid checksum (as web3's is_address). */
function isAddress(text) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) return false;
  const body = text.slice(2);
  return body === body.toLowerCase() || body === body.toUpperCase() || checksumAddress(text) === text;
}

/** One read-only JSON-RPC request to `url`; VerifyError if the node cannot be reached. Returns {result} or {error}. */
async function rpcCall(url, method, params) {
  let response;
  try {
    response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), credentials: "omit", referrerPolicy: "no-referrer" });
  } catch (e) {
    throw new VerifyError(`cannot reach the RPC at ${url}: ${e.name}: ${e.message}`);
  }
  if (!response.ok) throw new VerifyError(`cannot reach the RPC at ${url}: HTTP ${response.status}`);
  let reply;
  try { reply = await response.json(); } catch (e) { reply = null; }
  if (reply === null || typeof reply !== "object" || !("result" in reply || "error" in reply)) {
    throw new VerifyError(`cannot reach the RPC at ${url}: its answer is not JSON-RPC`);
  }
  return reply;
}

/** The revert of a failed eth_call, decoded against the registry's errors: Name(args,) or a description. */
function decodeRevert(error) {
  const data = typeof error.data === "string" ? error.data : (error.data && typeof error.data.data === "string" ? error.data.data : "");
  const body = data.replace(/^0x/, "");
  for (const signature of REGISTRY_ERRORS) {
    if (body.length >= 8 && body.slice(0, 8) === selector(signature)) {
      const name = signature.slice(0, signature.indexOf("("));
      if (name === "Error") {
        const length = Number(BigInt("0x" + body.slice(72, 136)));
        const text = new TextDecoder().decode(Uint8Array.from(body.slice(136, 136 + 2 * length).match(/../g) || [], (h) => parseInt(h, 16)));
        return `Error(${JSON.stringify(text)},)`;
      }
      const types = signature.slice(name.length + 1, -1).split(",");
      const args = types.map((type, i) => {
        const value = BigInt("0x" + (body.slice(8 + 64 * i, 72 + 64 * i) || "0"));
        return type === "int256" && value > INT256_MAX ? value - (1n << 256n) : value;
      });
      return new Revert(name, args).message;
    }
  }
  return body ? `unknown error 0x${body.slice(0, 8)} (is this the registry?)` : `${error.message || "execution reverted"} (no error data: is this the registry?)`;
}

const EPOCH_FIGURES = ["rootHash", "liabilitiesWad", "deficitWad", "belowMmCount", "shortfallWad", "mmWad", "imWad",
  "accountCount", "collateralWad", "reservesWad", "insuranceFundWad", "checkpointBlock", "postedAt"];

/** Reads rootOf(epoch) and epochFigures(epoch) from the registry and checks the posted root is the proof's;
 * with askRegistry also verifyInclusionAt (the checks of check-inclusion --rpc --registry, same reasons).
 * Returns the figures. */
async function checkOnChain(proof, url, registry, askRegistry, optionsVerifier = "") {
  if (proof.epoch < 0n || proof.epoch > UINT256_MAX) throw new VerifyError(`epoch ${proof.epoch} is not a uint256: no registry records it`);
  if (!/^https?:\/\//.test(url)) throw new VerifyError(`RPC URL must start with http:// or https://, got '${url}'`);
  if (!isAddress(registry)) throw new VerifyError(`registry '${registry}' is not an address`);
  const chainId = await rpcCall(url, "eth_chainId", []);
  if (chainId.error || typeof chainId.result !== "string" || !/^0x[0-9a-fA-F]+$/.test(chainId.result)) {
    throw new VerifyError(`cannot reach the RPC at ${url}: eth_chainId failed (${chainId.error ? chainId.error.message : "no chain id"})`);
  }
  const code = await rpcCall(url, "eth_getCode", [registry, "latest"]);
  if (code.error || !code.result || code.result === "0x") throw new VerifyError(`no contract at ${registry} on chain ${BigInt(chainId.result)}`);
  const callAt = async (to, what, signature, args) => {
    const reply = await rpcCall(url, "eth_call", [{ to, data: "0x" + selector(signature) + args.map(word).join("") }, "latest"]);
    if (reply.error) throw new VerifyError(`the ${what} at ${checksumAddress(to)} rejects the proof: ${decodeRevert(reply.error)}`);
    const body = typeof reply.result === "string" && /^0x([0-9a-fA-F]{64})*$/.test(reply.result) ? reply.result.slice(2) : "";
    return Array.from({ length: body.length / 64 }, (_, i) => BigInt("0x" + body.slice(64 * i, 64 * i + 64)));
  };
  const call = (signature, args) => callAt(registry, "registry", signature, args);
  const rootWords = await call("rootOf(uint256)", [proof.epoch]);
  const figureWords = await call("epochFigures(uint256)", [proof.epoch]);
  let inclusionWords = [1n];
  if (askRegistry && proof.rows) {
    // an options holder's leaf' is checked by the OptionsInclusionVerifier of the registry's roots (spec §6.5).
    // Head = epoch, the leaf's 19 words, the offset of the option slots, equity, mm, index, the offset of
    // siblings (25 words); tail = the slots (count, 2 words each), then the siblings (count, 3 words each).
    if (!isAddress(optionsVerifier)) throw new VerifyError(`an options holder's proof is checked on chain by the OptionsInclusionVerifier: give its address, got '${optionsVerifier}'`);
    const [reads] = await callAt(optionsVerifier, "options verifier", "registry()", []) || [];
    const readsHex = reads === undefined ? "" : checksumAddress("0x" + reads.toString(16).padStart(40, "0"));
    if (readsHex !== checksumAddress(registry)) {
      throw new VerifyError(`the options verifier at ${checksumAddress(optionsVerifier)} checks the roots of ${readsHex || "(no answer)"}, not of the registry ${checksumAddress(registry)}`);
    }
    const leafWords = [proof.leaf.id_hash, proof.leaf.salt, proof.leaf.collateral,
      ...proof.leaf.slots.flatMap((s) => [s.market_id, s.size, s.cost_basis, s.funding_index])];
    const slotWords = [BigInt(proof.leaf.options.length), ...proof.leaf.options.flatMap((o) => [o.row, o.size])];
    inclusionWords = await callAt(optionsVerifier, "options verifier", VERIFY_OPTIONS_INCLUSION_AT, [proof.epoch, ...leafWords, 25n * 32n, proof.liability,
      proof.mm, proof.index, (25n + BigInt(slotWords.length)) * 32n, ...slotWords, BigInt(proof.siblings.length), ...proof.siblings.flatMap((n) => [n.hash, n.equity, n.mm])]);
  } else if (askRegistry) {
    // opt-in, as it sends the account's data to the node: the registry's own verifier (its Poseidon
    // contracts) recomputes the path. Head = epoch, the leaf's 19 words, equity, mm, index, the offset
    // of siblings (24 words); tail = count, 3 words per node.
    const leafWords = [proof.leaf.id_hash, proof.leaf.salt, proof.leaf.collateral,
      ...proof.leaf.slots.flatMap((s) => [s.market_id, s.size, s.cost_basis, s.funding_index])];
    inclusionWords = await call(VERIFY_INCLUSION_AT, [proof.epoch, ...leafWords, proof.liability, proof.mm, proof.index, 24n * 32n,
      BigInt(proof.siblings.length), ...proof.siblings.flatMap((n) => [n.hash, n.equity, n.mm])]);
  }
  if (rootWords.length !== 3 || figureWords.length !== EPOCH_FIGURES.length || inclusionWords.length !== 1) {
    throw new VerifyError(`the registry at ${checksumAddress(registry)} rejects the proof: its answer has the wrong shape (is this the registry?)`);
  }
  const posted = { hash: rootWords[0], equity: rootWords[1], mm: rootWords[2] };
  if (posted.hash !== proof.root.hash || posted.equity !== proof.root.equity || posted.mm !== proof.root.mm) {
    throw new VerifyError(`the root posted for epoch ${proof.epoch} is ${nodeRepr(posted)}, the proof's is ${nodeRepr(proof.root)}`);
  }
  if (inclusionWords[0] !== 1n) throw new VerifyError(`the ${proof.rows && askRegistry ? "options verifier" : "registry"}'s verifyInclusionAt returned false for epoch ${proof.epoch}`);
  // leaf i of an engine's book is the engine's account i (spec §6.3): the SolvencyRegistry's engine() says whose
  const engineReply = await rpcCall(url, "eth_call", [{ to: registry, data: "0x" + selector("engine()") }, "latest"]);
  if (!engineReply.error && typeof engineReply.result === "string" && /^0x[0-9a-fA-F]{64}$/.test(engineReply.result)) {
    const engine = "0x" + engineReply.result.slice(-40);
    const [count] = await callAt(engine, "registry's engine()", "accountCount()", []);
    if (proof.index >= count) throw new VerifyError(`leaf ${proof.index} is past the engine's ${count} accounts: leaf i must be the engine's account i`);
    const [ownerWord, sub] = await callAt(engine, "registry's engine()", "accountAt(uint256)", [proof.index]);
    const owner = checksumAddress("0x" + ownerWord.toString(16).padStart(40, "0"));
    if (owner.toLowerCase() !== proof.owner.toLowerCase() || sub !== proof.sub) {
      throw new VerifyError(`leaf ${proof.index} must be the engine's account ${proof.index}, which is ${owner}:${sub}, not ${proof.accountId}`);
    }
  }
  const figures = Object.fromEntries(EPOCH_FIGURES.map((k, i) => [k, figureWords[i]]));
  figures.collateralWad = figureWords[8] > INT256_MAX ? figureWords[8] - (1n << 256n) : figureWords[8];
  figures.chainId = BigInt(chainId.result);
  return figures;
}

/** The result check-inclusion --json prints, as a JSON text (docs/output.md: integers as decimal strings). */
function resultJson(result) {
  return JSON.stringify(result, (_, v) => (typeof v === "bigint" ? String(v) : v));
}

/** A 256-bit hash as 0x and 64 lower-case hex digits. */
const hashHex = (x) => "0x" + x.toString(16).padStart(64, "0");

/** Checks a proof document offline and, given url and registry, on chain (askRegistry: also by the registry's
 * verifyInclusionAt, which sends the account's data to the node). Throws only on a bug: {result, proof, offline, figures}. */
async function runVerification(doc, url, registry, askRegistry = false, optionsVerifier = "") {
  let proof = null;
  let offline = null;
  let figures = null;
  try {
    proof = parseProof(doc);
    offline = verifyProof(proof);
    const checks = { offline: "ok" };
    if (url || registry) {
      if (!url || !registry) throw new VerifyError("to check against the chain give both the RPC URL and the registry address");
      figures = await checkOnChain(proof, url, registry, askRegistry, optionsVerifier);
      checks.on_chain = "ok";
    }
    const result = { ok: true, account: proof.accountId, epoch: proof.epoch, index: proof.index, equity_wad: offline.equity, mm_wad: offline.mm,
      im_wad: offline.im, liability_wad: offline.liability, root: { hash: hashHex(offline.root.hash), liabilities_wad: offline.root.equity, mm_wad: offline.root.mm }, checks };
    return { result, proof, offline, figures };
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    const result = proof ? { ok: false, account: proof.accountId, epoch: proof.epoch, reason: e.message } : { ok: false, reason: e.message };
    return { result, proof, offline, figures };
  }
}
