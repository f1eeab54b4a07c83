// Declares libshmiface to koffi from include/shmiface_ffi.h, as it is.
//
// koffi has no C header parser, only a prototype parser: this splits the
// declarations file into statements and hands each to the koffi call that
// declares its kind. Prototypes go to lib.func() verbatim; typedefs,
// structs and enums are read with a few patterns, which match the only
// forms build.rs writes. A statement of any other shape throws, so a change
// of form in the generated file fails the test instead of going missing.
'use strict';

const fs = require('fs');
const koffi = require('koffi');

function statements(text) {
  const bare = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  return bare.split(';').map((s) => s.replace(/\s+/g, ' ').trim()).filter(Boolean);
}

// "uint64_t capacity" -> ["capacity", "uint64_t"]; arrays as "T [N]".
function member(text) {
  const m = /^(.*?)\s*\b([A-Za-z_]\w*)\s*(\[\s*\d+\s*\])?$/.exec(text);
  if (!m) throw new Error(`shmiface_ffi.h: cannot read the member "${text}"`);
  return [m[2], m[3] ? `${m[1]} ${m[3].replace(/\s/g, '')}` : m[1]];
}

// Returns { lib, constants, types, functions } for the library at libPath.
function load(declarationsPath, libPath) {
  const lib = koffi.load(libPath);
  const constants = {};
  const types = {};
  const functions = {};
  const text = fs.readFileSync(declarationsPath, 'utf8');
  // A struct's body holds ';' too: gather a statement until its braces close.
  let pending = '';
  for (const piece of statements(text)) {
    pending = pending ? `${pending}; ${piece}` : piece;
    const open = (pending.match(/{/g) || []).length;
    const close = (pending.match(/}/g) || []).length;
    if (open !== close || (open > 0 && !/}\s*[A-Za-z_]\w*$/.test(pending) && !/^enum/.test(pending))) continue;
    const stmt = pending;
    pending = '';
    let m;
    if ((m = /^enum \{ ([A-Za-z_]\w*) = (-?\d+) \}$/.exec(stmt))) {
      constants[m[1]] = Number(m[2]);
    } else if ((m = /^typedef (struct|union) ([A-Za-z_]\w*) \2$/.exec(stmt))) {
      types[m[2]] = koffi.opaque(m[2]);
    } else if ((m = /^typedef (struct|union) ([A-Za-z_]\w*) \{ (.*) \} \2$/.exec(stmt))) {
      const fields = Object.fromEntries(m[3].split(';').map((f) => f.trim()).filter(Boolean).map(member));
      types[m[2]] = (m[1] === 'union' ? koffi.union : koffi.struct)(m[2], fields);
    } else if ((m = /^typedef ([\w ]+?) ([A-Za-z_]\w*)$/.exec(stmt))) {
      types[m[2]] = koffi.alias(m[2], m[1]);
    } else if ((m = /\b([A-Za-z_]\w*)\s*\(.*\)$/.exec(stmt)) && !stmt.startsWith('typedef')) {
      functions[m[1]] = lib.func(stmt);
    } else {
      throw new Error(`shmiface_ffi.h: no rule for the declaration "${stmt}"`);
    }
  }
  if (pending) throw new Error(`shmiface_ffi.h: unfinished declaration "${pending}"`);
  return { lib, constants, types, functions };
}

module.exports = { load, koffi };
