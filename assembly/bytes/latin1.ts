// Bytes to strings, one UTF-16 code unit per byte (Latin-1). Never fails on
// any input, unlike UTF-8 decoding, so hostile bytes cannot trap here.

/** A string holding `len` bytes at `ptr`, one code unit each. */
export function latin1(ptr: usize, len: i32): string {
  if (len <= 0) return "";
  let out = __new((<usize>len) << 1, idof<string>());
  for (let i = 0; i < len; i++) {
    store<u16>(out + ((<usize>i) << 1), load<u8>(ptr + <usize>i));
  }
  return changetype<string>(out);
}
