// The bytes sitio's decoders look for, by name (no bare `c == 13` elsewhere).

export const HTAB: i32 = 0x09;
export const LF: i32 = 0x0a;
export const CR: i32 = 0x0d;
export const SP: i32 = 0x20;
export const QUOTE: i32 = 0x22; // "
export const HASH: i32 = 0x23; // #
export const PERCENT: i32 = 0x25; // %
export const STAR: i32 = 0x2a; // *
export const COMMA: i32 = 0x2c; // ,
export const DASH: i32 = 0x2d; // -
export const DOT: i32 = 0x2e; // .
export const SLASH: i32 = 0x2f; // /
export const DIGIT_0: i32 = 0x30;
export const DIGIT_9: i32 = 0x39;
export const COLON: i32 = 0x3a; // :
export const SEMICOLON: i32 = 0x3b; // ;
export const EQUALS: i32 = 0x3d; // =
export const QUESTION: i32 = 0x3f; // ?
export const AT: i32 = 0x40; // @
export const UPPER_A: i32 = 0x41;
export const UPPER_Z: i32 = 0x5a;
export const BACKSLASH: i32 = 0x5c; // \
export const LOWER_A: i32 = 0x61;
export const LOWER_Z: i32 = 0x7a;
export const LEFT_BRACE: i32 = 0x7b; // {
export const RIGHT_BRACE: i32 = 0x7d; // }
export const DEL: i32 = 0x7f;

export function isDigit(c: i32): bool {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

export function isAlpha(c: i32): bool {
  return (c >= LOWER_A && c <= LOWER_Z) || (c >= UPPER_A && c <= UPPER_Z);
}

export function toLower(c: i32): i32 {
  return c >= UPPER_A && c <= UPPER_Z ? c + 32 : c;
}

/** The value of a hex digit, or -1. */
export function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - DIGIT_0;
  c = toLower(c);
  if (c >= LOWER_A && c <= 0x66) return c - 87;
  return -1;
}

/** SP or HTAB. */
export function isBlank(c: i32): bool {
  return c == SP || c == HTAB;
}
