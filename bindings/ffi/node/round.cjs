// The Node side of an FFI round (see ../run_round.sh and ../peer.c), with
// koffi: every prototype of include/shmiface_ffi.h goes to lib.func() as
// it is (shmiface_ffi.cjs).
//
//   node round.cjs LIBRARY DECLARATIONS NAME
'use strict';

const assert = require('assert');
const { load, koffi } = require('./shmiface_ffi.cjs');

const [libPath, declsPath, name] = process.argv.slice(2);
const { constants: C, functions: f } = load(declsPath, libPath);

function check(status, what) {
  if (status !== C.SHMIFACE_OK) {
    const detail = Buffer.alloc(256);
    f.shmiface_last_error(detail, detail.length);
    throw new Error(`${what}: ${f.shmiface_status_str(status)} (${detail.toString('utf8').replace(/\0.*$/s, '')})`);
  }
}

assert.strictEqual(f.shmiface_abi_version(), C.SHMIFACE_ABI_VERSION);

// Out-parameters are one-element typed arrays; a handle is read back as a pointer.
const out = new BigUint64Array(1);
assert.strictEqual(f.shmiface_get_instance(`${name}-missing`, out), C.SHMIFACE_ERR_NOT_FOUND);
assert.ok(Number(f.shmiface_last_error(null, 0)) > 0, 'NOT_FOUND has a detail');

check(f.shmiface_get_instance(name, out), 'get_instance');
const seg = koffi.decode(out, 'shmiface_segment *');
const infoBuf = Buffer.alloc(koffi.sizeof('shmiface_info'));
check(f.shmiface_get_info(seg, infoBuf), 'get_info');
const info = koffi.decode(infoBuf, 'shmiface_info');
assert.ok(Number(info.capacity) === 256 && info.owner_alive && !info.is_owner, 'info of the peer segment');

const buf = Buffer.alloc(257);
const len = new BigUint64Array(1);
function value() {
  check(f.shmiface_get_string(seg, buf, buf.length, len), 'get_string');
  return buf.toString('utf8', 0, Number(len[0]));
}

check(f.shmiface_set_string_notify(seg, 'ping from node'), 'set_string_notify');
const seen = new BigUint64Array(1);
while (value() !== 'pong to node') {
  check(f.shmiface_wait(seg, seen, 30000), 'wait for the pong');
}

const version = new BigUint64Array(1);
check(f.shmiface_get_bytes(seg, buf, buf.length, len, version), 'get_bytes');
assert.ok(Number(len[0]) === 'pong to node'.length && version[0] >= 2n, 'get_bytes length and version');

check(f.shmiface_set_string_notify(seg, 'done'), 'set done');
check(f.shmiface_destroy(seg), 'destroy');
console.log('node: ok');
