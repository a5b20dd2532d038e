#!/usr/bin/env node
// Lists the code a CUDA plugin embeds, read from its .nv_fatbin ELF section (cuobjdump is
// not installed on our machines). Prints one line per entry ("sm_90 ELF", "sm_120 PTX")
// and, with --expect 75,80,...,120 --ptx 120, exits 1 unless exactly those are present.
//
// Layout (as cuobjdump reads it): the section holds fatbin containers, each a 16-byte
// header (magic 0xBA55ED50, u16 version, u16 header size, u64 payload size) followed by
// entries, each with a header of its own (u16 kind: 1 PTX, 2 ELF; u32 header size at 4;
// u64 payload size at 8; u32 arch at 28), payload after the header.
'use strict';
const fs = require('fs');

function section(buf, name) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) throw new Error('not a 64-bit ELF file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a), shnum = buf.readUInt16LE(0x3c), shstrndx = buf.readUInt16LE(0x3e);
  const sh = (i) => {
    const o = shoff + i * shentsize;
    return { name: buf.readUInt32LE(o), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    let end = strtab.offset + s.name;
    while (buf[end]) end++;
    if (buf.toString('latin1', strtab.offset + s.name, end) === name) return buf.subarray(s.offset, s.offset + s.size);
  }
  return null;
}

function entries(fatbin) {
  const out = [];
  let pos = 0;
  while (pos + 16 <= fatbin.length) {
    if (fatbin.readUInt32LE(pos) !== 0xba55ed50) { pos += 8; continue; }  // alignment padding
    const headerSize = fatbin.readUInt16LE(pos + 6);
    const size = Number(fatbin.readBigUInt64LE(pos + 8));
    let e = pos + headerSize;
    const end = e + size;
    while (e < end) {
      const kind = fatbin.readUInt16LE(e), ehSize = fatbin.readUInt32LE(e + 4);
      const payload = Number(fatbin.readBigUInt64LE(e + 8)), arch = fatbin.readUInt32LE(e + 28);
      out.push({ kind: kind === 1 ? 'PTX' : kind === 2 ? 'ELF' : `kind ${kind}`, arch });
      e += ehSize + payload;
    }
    pos = end;
  }
  return out;
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^[\d,]+$/.test(a));
if (!file) {
  console.error('usage: fatbin-archs.js <plugin.so> [--expect 75,80 --ptx 120]');
  process.exit(2);
}
const fatbin = section(fs.readFileSync(file), '.nv_fatbin');
if (!fatbin) {
  console.log(`${file}: no .nv_fatbin section`);
  process.exit(1);
}
const list = entries(fatbin);
const seen = new Set(list.map((e) => `sm_${e.arch} ${e.kind}`));
for (const line of seen) console.log(line);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1].split(',').map(Number) : null; };
const expectElf = opt('--expect'), expectPtx = opt('--ptx');
if (expectElf || expectPtx) {
  const want = [...(expectElf || []).map((a) => `sm_${a} ELF`), ...(expectPtx || []).map((a) => `sm_${a} PTX`)];
  const missing = want.filter((w) => !seen.has(w)), extra = [...seen].filter((s) => !want.includes(s));
  if (missing.length || extra.length) {
    console.log(`FAIL: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`);
    process.exit(1);
  }
  console.log(`OK: ${want.length} entries as expected`);
}
