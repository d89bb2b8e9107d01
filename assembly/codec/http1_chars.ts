// Byte classes of the HTTP/1.x request grammar, as llhttp (Node's parser)
// applies them in its strict mode; the response parser reads tokens, field
// values and chunk sizes with the same classes. Pure predicates on one byte
// (0 to 255), answered from one 256-byte table: the parsers ask them for
// every byte, so each is a load and a mask, inlined.

const TOKEN: u8 = 1;
const URL: u8 = 2;
const VALUE: u8 = 4;
const AUTHORITY: u8 = 8;

// The class bits of each byte value: TOKEN (RFC 9110 tchar), URL (a path, query or
// fragment byte: visible ASCII but `?` and `#`), VALUE (field-value bytes: HTAB,
// SP, VCHAR, obs-text), AUTHORITY (RFC 3986 userinfo, host, port, and `[` `]`).
// (Written out by hand from those definitions; the llhttp corpus and the parser tests exercise every class.)
// biome-ignore format: one row per 32 byte values
const CLASSES = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  4, 15, 6, 5, 15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 14, 6, 14, 6, 4,
  6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 6, 14, 7, 15,
  7, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 7, 6, 15, 0,
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
]);

@inline
function classOf(c: i32): u8 {
  return load<u8>(CLASSES + <usize>(c & 255));
}

/** RFC 9110 tchar: method and header-name bytes. */
@inline
export function isTokenChar(c: i32): bool {
  return (classOf(c) & TOKEN) != 0;
}

@inline
export function isAlpha(c: i32): bool {
  return <u32>((c | 32) - 97) < 26;
}

@inline
export function isDigit(c: i32): bool {
  return <u32>(c - 48) < 10;
}

/** Request-target bytes of a path, query or fragment: visible ASCII except `?` and `#` (no UTF-8 in strict mode). */
@inline
export function isUrlChar(c: i32): bool {
  return (classOf(c) & URL) != 0;
}

/** Authority bytes (RFC 3986 userinfo, host, port), `[` `]` for IPv6; `@` is handled apart. */
@inline
export function isAuthorityChar(c: i32): bool {
  return (classOf(c) & AUTHORITY) != 0;
}

/** field-value bytes: HTAB, SP, VCHAR, obs-text. */
@inline
export function isHeaderValueChar(c: i32): bool {
  return (classOf(c) & VALUE) != 0;
}

/** Bytes of one element of a comma-separated header list (Connection, Transfer-Encoding). */
export function isListElementChar(c: i32): bool {
  return isHeaderValueChar(c) && c != 44;
}

/** qdtext of a quoted chunk-extension value. */
export function isQuotedText(c: i32): bool {
  return isHeaderValueChar(c) && c != 34 && c != 92;
}

export function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - 48;
  c = toLower(c);
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

@inline
export function toLower(c: i32): i32 {
  return <u32>(c - 65) < 26 ? c + 32 : c;
}
