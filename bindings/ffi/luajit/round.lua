-- The LuaJIT side of an FFI round (see ../run_round.sh and ../peer.c):
-- the declarations are include/shmiface_ffi.h, given to ffi.cdef as they are.
--
--   luajit round.lua LIBRARY DECLARATIONS NAME
local ffi = require("ffi")
local lib_path, decls_path, name = arg[1], arg[2], arg[3]

local file = assert(io.open(decls_path, "rb"))
ffi.cdef(file:read("*a"))
file:close()
local lib = ffi.load(lib_path)

local function check(status, what)
  if status ~= lib.SHMIFACE_OK then
    local detail = ffi.new("char[256]")
    lib.shmiface_last_error(detail, 256)
    error(string.format("%s: %s (%s)", what, ffi.string(lib.shmiface_status_str(status)), ffi.string(detail)))
  end
end

assert(lib.shmiface_abi_version() == lib.SHMIFACE_ABI_VERSION, "ABI version")

-- An error comes back as a status, with a detail.
local out = ffi.new("shmiface_segment *[1]")
local status = lib.shmiface_get_instance(name .. "-missing", out)
assert(status == lib.SHMIFACE_ERR_NOT_FOUND, "a missing segment is NOT_FOUND, got " .. tostring(status))
assert(lib.shmiface_last_error(nil, 0) > 0, "NOT_FOUND has a detail")

check(lib.shmiface_get_instance(name, out), "get_instance")
local seg = out[0]
local info = ffi.new("shmiface_info")
check(lib.shmiface_get_info(seg, info), "get_info")
assert(info.capacity == 256 and info.owner_alive and not info.is_owner, "info of the peer's segment")

local buf = ffi.new("char[257]")
local len = ffi.new("size_t[1]")
local function value()
  check(lib.shmiface_get_string(seg, buf, 257, len), "get_string")
  return ffi.string(buf, len[0])
end

check(lib.shmiface_set_string_notify(seg, "ping from luajit"), "set_string_notify")
local seen = ffi.new("uint64_t[1]")
while value() ~= "pong to luajit" do
  check(lib.shmiface_wait(seg, seen, 30000), "wait for the pong")
end

local version = ffi.new("uint64_t[1]")
local bytes = ffi.new("uint8_t[256]")
check(lib.shmiface_get_bytes(seg, bytes, 256, len, version), "get_bytes")
assert(tonumber(len[0]) == #"pong to luajit" and version[0] >= 2, "get_bytes length and version")

check(lib.shmiface_set_string_notify(seg, "done"), "set done")
check(lib.shmiface_destroy(seg), "destroy")
print("luajit: ok")
