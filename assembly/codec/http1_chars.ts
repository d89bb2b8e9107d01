// Byte classes of the HTTP/1.x request grammar, as llhttp (Node's parser)
// applies them in its strict mode; the response parser reads tokens, field
// values and chunk sizes with the same classes. Pure predicates on one byte.

/** RFC 9110 tchar: method and header-name bytes. */
export function isTokenChar(c: i32): bool {
  if (c >= 97 && c <= 122) return true; // a-z
  if (c >= 65 && c <= 90) return true; // A-Z
  if (c >= 48 && c <= 57) return true; // 0-9
  // ! # $ % & ' * + - . ^ _ ` | ~
  return c == 33 || (c >= 35 && c <= 39) || c == 42 || c == 43 || c == 45 || c == 46 || c == 94 || c == 95 || c == 96 || c == 124 || c == 126;
}

export function isAlpha(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

export function isDigit(c: i32): bool {
  return c >= 48 && c <= 57;
}

/** Request-target bytes of a path, query or fragment: visible ASCII except `?` and `#` (no UTF-8 in strict mode). */
export function isUrlChar(c: i32): bool {
  return c > 32 && c < 127 && c != 63 && c != 35;
}

/** Authority bytes (RFC 3986 userinfo, host, port), `[` `]` for IPv6; `@` is handled apart. */
export function isAuthorityChar(c: i32): bool {
  if (isAlpha(c) || isDigit(c)) return true;
  // - _ . ! ~ * ' ( ) % ; : & = + $ , [ ]
  return (
    c == 45 ||
    c == 95 ||
    c == 46 ||
    c == 33 ||
    c == 126 ||
    c == 42 ||
    c == 39 ||
    c == 40 ||
    c == 41 ||
    c == 37 ||
    c == 59 ||
    c == 58 ||
    c == 38 ||
    c == 61 ||
    c == 43 ||
    c == 36 ||
    c == 44 ||
    c == 91 ||
    c == 93
  );
}

/** field-value bytes: HTAB, SP, VCHAR, obs-text. */
export function isHeaderValueChar(c: i32): bool {
  return c == 9 || (c >= 32 && c != 127);
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
  if (c >= 48 && c <= 57) return c - 48;
  c = toLower(c);
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export function toLower(c: i32): i32 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}
