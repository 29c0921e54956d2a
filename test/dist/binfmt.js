'use strict';
/**
 * Just enough of Mach-O and PE to check, on Linux, the darwin and Windows binaries that cannot
 * run here: what they are built for, the OS version they need, the libraries they load, the
 * symbols they export, and (Mach-O) whether the code signature's page hashes match the file.
 */
const crypto = require('crypto');
const fs = require('fs');

const LC = { SYMTAB: 0x2, LOAD_DYLIB: 0xc, ID_DYLIB: 0xd, VERSION_MIN_MACOSX: 0x24, CODE_SIGNATURE: 0x1d, BUILD_VERSION: 0x32, LOAD_WEAK_DYLIB: 0x80000018, REEXPORT_DYLIB: 0x8000001f };
const MH = { DYLIB: 6, BUNDLE: 8 };
const CPU = { 0x01000007: 'x64', 0x0100000c: 'arm64' };

const version = (v) => `${v >>> 16}.${(v >> 8) & 0xff}`;
const cstring = (buf, at) => buf.toString('latin1', at, buf.indexOf(0, at));

/** A 64-bit little-endian Mach-O file (not a fat one). */
function machO(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32LE(0) !== 0xfeedfacf) throw new Error(`${file}: not a 64-bit Mach-O file`);
  const out = { cpu: CPU[b.readUInt32LE(4)] || 'other', filetype: b.readUInt32LE(12), minos: null, dylibs: [], exports: [], signature: null };
  const ncmds = b.readUInt32LE(16);
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(at);
    const size = b.readUInt32LE(at + 4);
    if (cmd === LC.BUILD_VERSION) out.minos = version(b.readUInt32LE(at + 12));
    if (cmd === LC.VERSION_MIN_MACOSX) out.minos = version(b.readUInt32LE(at + 8));
    if (cmd === LC.LOAD_DYLIB || cmd === LC.LOAD_WEAK_DYLIB || cmd === LC.REEXPORT_DYLIB) out.dylibs.push(cstring(b, at + b.readUInt32LE(at + 8)));
    if (cmd === LC.SYMTAB) {
      const [symoff, nsyms, stroff] = [b.readUInt32LE(at + 8), b.readUInt32LE(at + 12), b.readUInt32LE(at + 16)];
      for (let s = 0; s < nsyms; s++) {
        const e = symoff + s * 16;
        const type = b[e + 4];
        if ((type & 0xe0) === 0 && (type & 0x0e) === 0x0e && (type & 0x01)) out.exports.push(cstring(b, stroff + b.readUInt32LE(e))); // N_SECT | N_EXT, no stab
      }
    }
    if (cmd === LC.CODE_SIGNATURE) out.signature = codeSignature(b, b.readUInt32LE(at + 8));
    at += size;
  }
  return out;
}

/** The CodeDirectory of a signature: ad-hoc or not, and whether every code page hash matches. */
function codeSignature(b, off) {
  if (b.readUInt32BE(off) !== 0xfade0cc0) return { valid: false, why: 'no embedded signature SuperBlob' };
  const count = b.readUInt32BE(off + 8);
  for (let i = 0; i < count; i++) {
    if (b.readUInt32BE(off + 12 + i * 8) !== 0) continue; // CSSLOT_CODEDIRECTORY
    const cd = off + b.readUInt32BE(off + 16 + i * 8);
    if (b.readUInt32BE(cd) !== 0xfade0c02) return { valid: false, why: 'bad CodeDirectory magic' };
    const flags = b.readUInt32BE(cd + 12);
    const hashOffset = b.readUInt32BE(cd + 16);
    const nCodeSlots = b.readUInt32BE(cd + 28);
    const codeLimit = b.readUInt32BE(cd + 32);
    const hashSize = b[cd + 36];
    const hashType = b[cd + 37];
    const pageSize = 2 ** b[cd + 39];
    const algorithm = { 1: 'sha1', 2: 'sha256' }[hashType];
    if (!algorithm) return { valid: false, why: `hash type ${hashType}` };
    let bad = 0;
    for (let p = 0; p < nCodeSlots; p++) {
      const page = b.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit));
      const want = b.subarray(cd + hashOffset + p * hashSize, cd + hashOffset + (p + 1) * hashSize);
      if (!crypto.createHash(algorithm).update(page).digest().subarray(0, hashSize).equals(want)) bad++;
    }
    const covers = nCodeSlots === Math.ceil(codeLimit / pageSize);
    return { valid: bad === 0 && covers && codeLimit === off, adhoc: (flags & 0x2) !== 0, pages: nCodeSlots, pageSize, badPages: bad, codeLimit, signatureAt: off };
  }
  return { valid: false, why: 'no CodeDirectory' };
}

/** A PE32+ image: machine, DLL flag, the DLLs it imports and the names it exports. */
function pe(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt16BE(0) !== 0x4d5a) throw new Error(`${file}: not a PE file`);
  const peAt = b.readUInt32LE(0x3c);
  if (b.readUInt32BE(peAt) !== 0x50450000) throw new Error(`${file}: no PE header`);
  const coff = peAt + 4;
  const machine = { 0x8664: 'x64', 0xaa64: 'arm64' }[b.readUInt16LE(coff)] || 'other';
  const nsections = b.readUInt16LE(coff + 2);
  const optSize = b.readUInt16LE(coff + 16);
  const characteristics = b.readUInt16LE(coff + 18);
  const opt = coff + 20;
  if (b.readUInt16LE(opt) !== 0x20b) throw new Error(`${file}: not PE32+`);
  const dataDir = (i) => ({ rva: b.readUInt32LE(opt + 112 + i * 8), size: b.readUInt32LE(opt + 116 + i * 8) });
  const sections = [];
  for (let i = 0; i < nsections; i++) {
    const s = opt + optSize + i * 40;
    sections.push({ va: b.readUInt32LE(s + 12), vsize: b.readUInt32LE(s + 8), raw: b.readUInt32LE(s + 20), rawSize: b.readUInt32LE(s + 16) });
  }
  const at = (rva) => {
    const s = sections.find((x) => rva >= x.va && rva < x.va + Math.max(x.vsize, x.rawSize));
    if (!s) throw new Error(`${file}: RVA ${rva} is in no section`);
    return rva - s.va + s.raw;
  };
  const exports = [];
  const ed = dataDir(0);
  if (ed.rva) {
    const e = at(ed.rva);
    const n = b.readUInt32LE(e + 24);
    const names = at(b.readUInt32LE(e + 32));
    for (let i = 0; i < n; i++) exports.push(cstring(b, at(b.readUInt32LE(names + i * 4))));
  }
  const imports = [];
  const id = dataDir(1);
  if (id.rva) {
    for (let d = at(id.rva); b.readUInt32LE(d + 12) !== 0; d += 20) imports.push(cstring(b, at(b.readUInt32LE(d + 12))));
  }
  return { machine, dll: (characteristics & 0x2000) !== 0, subsystemMajor: b.readUInt16LE(opt + 48), imports, exports };
}

module.exports = { machO, pe, MH };
