// Fixed-base scalar multiples of the BN254 generators, in parallel (pymargin/zk/devzkey.py uses it).
// Usage: node fixed_base.cjs WORKERS GROUP IN OUT [GROUP IN OUT ...]
//   GROUP: G1 or G2
//   IN:    scalars s_i < r, 32 bytes each, little-endian, standard form
//   OUT:   s_i·G for the group's generator G, affine, Montgomery little-endian as in a snarkjs zkey
//          (64 bytes a G1 point, 128 a G2 point; zeros for the point at infinity, s_i = 0)
// Method: a fixed-base comb over ffjavascript's own wasm curve code (wasmcurves): tables of d·2^(c·w)·G
// for every c-bit window w and digit d, so each multiple costs one mixed addition per window; c is
// chosen per group to minimise table plus multiples: windows(c)·(2^c + multiples per worker).
const fs = require("fs");
const os = require("os");
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");

const SCALAR_BITS = 254; // r < 2^254
const CHUNK = 1 << 14; // scalars per task
// free memory kept above the last allocation for the wasm batch routines' scratch (batchToAffine of a
// comb table: up to 2^16 G2 points, beyond the 4 MB that sufficed up to c = 13 for G2)
const SCRATCH = 64 << 20;
const SIZES = { G1: { n8: 32, prefix: "g1m", gen: "pG1gen" }, G2: { n8: 64, prefix: "g2m", gen: "pG2gen" } };

function wasmCode() {
    const { buildBn128 } = require("wasmcurves");
    const { ModuleBuilder } = require("wasmbuilder");
    const builder = new ModuleBuilder();
    builder.setMemory(25);
    buildBn128(builder);
    return { code: builder.build(), pointers: { pG1gen: builder.modules.bn128.pG1gen, pG2gen: builder.modules.bn128.pG2gen } };
}

// ---- worker: holds one wasm instance and, per group, its comb table ----
function worker() {
    const { module, pointers } = workerData;
    const memory = new WebAssembly.Memory({ initial: 25 });
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
    let free = new Uint32Array(memory.buffer)[0];
    function alloc(bytes) {
        const p = (free + 7) & ~7;
        free = p + bytes;
        const need = Math.ceil((free + SCRATCH) / 65536) - memory.buffer.byteLength / 65536;
        if (need > 0) memory.grow(need);
        new Uint32Array(memory.buffer)[0] = free; // wasm batch routines allocate above this pointer
        return p;
    }
    const tables = {};
    let jac = 0, aff = 0, scal = 0; // per-chunk buffers, allocated once the tables exist

    function table(group, c) {
        const name = group + c;
        if (tables[name]) return tables[name];
        const { n8, prefix, gen } = SIZES[group];
        const jacSize = n8 * 3, affSize = n8 * 2, entries = 1 << c, WINDOWS = Math.ceil(SCALAR_BITS / c);
        const start = alloc(WINDOWS * entries * affSize);
        const tmp = alloc(entries * jacSize), base = alloc(affSize);
        ex[prefix + "_copyAffine"](pointers[gen], base);
        for (let w = 0; w < WINDOWS; w++) {
            const out = start + w * entries * affSize;
            ex[prefix + "_zero"](tmp); // entry 0: infinity, never looked up
            for (let d = 1; d < entries; d++) ex[prefix + "_addMixed"](tmp + (d - 1) * jacSize, base, tmp + d * jacSize);
            ex[prefix + "_batchToAffine"](tmp, entries, out);
            const next = tmp; // 2^c·base = (2^c − 1)·base + base
            ex[prefix + "_addMixed"](tmp + (entries - 1) * jacSize, base, next);
            ex[prefix + "_toAffine"](next, base);
        }
        tables[name] = start;
        return start;
    }

    parentPort.on("message", ({ group, c, scalars, id }) => {
        const { n8, prefix } = SIZES[group];
        const jacSize = n8 * 3, affSize = n8 * 2, entries = 1 << c, WINDOWS = Math.ceil(SCALAR_BITS / c);
        const start = table(group, c);
        if (!jac) {
            jac = alloc(CHUNK * SIZES.G2.n8 * 3); aff = alloc(CHUNK * SIZES.G2.n8 * 2); scal = alloc(CHUNK * 32);
        }
        const count = scalars.byteLength / 32;
        const u8 = new Uint8Array(memory.buffer);
        u8.set(scalars, scal);
        const add = ex[prefix + "_addMixed"];
        const zeros = [];
        for (let i = 0; i < count; i++) {
            const acc = jac + i * jacSize, s = scal + 32 * i;
            ex[prefix + "_zero"](acc);
            let digits = 0;
            for (let w = 0; w < WINDOWS; w++) {
                const bit = w * c, at = bit >> 3, byte = s + at; // bytes past the scalar's 32 read as 0
                const word = u8[byte] | (at < 31 ? u8[byte + 1] << 8 : 0) | (at < 30 ? u8[byte + 2] << 16 : 0);
                const digit = (word >>> (bit & 7)) & (entries - 1);
                if (digit) add(acc, start + (w * entries + digit) * affSize, acc);
                digits |= digit;
            }
            if (!digits) { // the batch inversion below must not meet z = 0: a stand-in point, zeroed after
                zeros.push(i);
                add(acc, pointers[SIZES[group].gen], acc);
            }
        }
        ex[prefix + "_batchToAffine"](jac, count, aff);
        const out = new Uint8Array(memory.buffer).slice(aff, aff + count * affSize);
        for (const i of zeros) out.fill(0, i * affSize, (i + 1) * affSize);
        parentPort.postMessage({ id, out }, [out.buffer]);
    });
}

function windowBits(multiples) {
    let best = 1;
    const cost = (c) => Math.ceil(SCALAR_BITS / c) * (2 ** c + multiples);
    for (let c = 2; c <= 16; c++) if (cost(c) < cost(best)) best = c;
    return best;
}

// ---- main: reads the jobs, hands chunks to the workers, writes the points ----
async function main() {
    const [workersText, ...jobArgs] = process.argv.slice(2);
    if (jobArgs.length === 0 || jobArgs.length % 3 !== 0) throw new Error("usage: node fixed_base.cjs WORKERS GROUP IN OUT [GROUP IN OUT ...]");
    const jobs = [];
    for (let j = 0; j < jobArgs.length; j += 3) {
        const [group, inPath, outPath] = jobArgs.slice(j, j + 3);
        if (!SIZES[group]) throw new Error(`unknown group ${group}: G1 or G2`);
        const scalars = fs.readFileSync(inPath);
        if (scalars.byteLength % 32) throw new Error(`${inPath}: ${scalars.byteLength} bytes is not a whole number of 32-byte scalars`);
        jobs.push({ group, scalars, outPath, out: Buffer.alloc((scalars.byteLength / 32) * SIZES[group].n8 * 2) });
    }
    const tasks = [];
    for (const job of jobs) {
        for (let first = 0; first * 32 < job.scalars.byteLength; first += CHUNK) tasks.push({ job, first });
    }
    tasks.sort((a, b) => (a.job.group === b.job.group ? 0 : a.job.group === "G2" ? -1 : 1)); // the costly G2 chunks first
    const { code, pointers } = wasmCode();
    const module = await WebAssembly.compile(code);
    const workers = Math.max(1, Math.min(Number(workersText) || os.cpus().length, tasks.length));
    const forced = Number(process.env.PYMARGIN_FIXED_BASE_WINDOW); // tests: the window of a large job on few scalars
    for (const job of jobs) job.c = forced || windowBits(job.scalars.byteLength / 32 / workers);
    let next = 0;
    await Promise.all(Array.from({ length: workers }, () => new Promise((resolve, reject) => {
        const w = new Worker(__filename, { workerData: { module, pointers } });
        const send = () => {
            if (next >= tasks.length) { w.terminate().then(resolve); return; }
            const id = next++, { job, first } = tasks[id];
            const scalars = job.scalars.subarray(first * 32, Math.min(job.scalars.byteLength, (first + CHUNK) * 32));
            w.postMessage({ group: job.group, c: job.c, scalars, id });
        };
        w.on("message", ({ id, out }) => {
            const { job, first } = tasks[id];
            job.out.set(out, first * SIZES[job.group].n8 * 2);
            send();
        });
        w.on("error", reject);
        send();
    })));
    for (const job of jobs) fs.writeFileSync(job.outPath, job.out);
}

if (isMainThread) {
    main().catch((err) => {
        console.error(err.message || String(err));
        process.exit(1);
    });
} else {
    worker();
}
