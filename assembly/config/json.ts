// A small, strict JSON parser (RFC 8259) for the plugin configuration.
//
// Written here rather than taken from assemblyscript-json because that library
// asserts (traps) on malformed input, and a trap in proxy_on_configure kills the
// VM. This one never throws and never traps: every input gives either a value
// tree or one error with the byte offset where parsing stopped. Input size and
// nesting depth are bounded, so time and memory are too.

import { decimal } from "../bytes/decimal";

/** Largest configuration accepted, in bytes. */
export const MAX_JSON_BYTES = 64 * 1024;
/** Deepest nesting of arrays and objects accepted. */
export const MAX_JSON_DEPTH = 16;

const HEX = "0123456789ABCDEF";
const HEX_LOWER = "0123456789abcdef";

export enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/** One JSON value. Fields other than those of its kind keep their defaults. */
export class JsonValue {
  bool: bool = false;
  /** A number that is a whole number of at most 17 digits (`100`, `1e2`, `100.0`): its value, and `isInteger`. */
  integer: i64 = 0;
  isInteger: bool = false;
  /** A string's value; a number's text as written (e.g. "1e2"). */
  str: string = "";
  /** An array's items, or an object's values (in the order of `keys`). */
  items: JsonValue[] = [];
  /** An object's keys, in document order (unique). */
  keys: string[] = [];
  /** An object's keys by hash: open addressing, member index + 1 per slot (0: empty). */
  private slots: StaticArray<i32> | null = null;

  constructor(
    public kind: JsonKind,
    public offset: i32,
  ) {}

  /** An object's member, or null when absent (or not an object). */
  get(key: string): JsonValue | null {
    let i = this.find(key);
    return i >= 0 ? unchecked(this.items[i]) : null;
  }

  /** Adds an object member; false when the key is already there. */
  add(key: string, value: JsonValue): bool {
    if (this.find(key) >= 0) return false;
    let slots = this.slots;
    if (slots === null || (this.keys.length + 1) * 2 > slots.length) slots = this.rehash();
    this.keys.push(key);
    this.items.push(value);
    this.place(slots, key, this.keys.length);
    return true;
  }

  /** The index of member `key`, or -1. */
  private find(key: string): i32 {
    let slots = this.slots;
    if (slots === null) return -1;
    let mask = slots.length - 1;
    for (let s = keyHash(key) & mask; ; s = (s + 1) & mask) {
      let k = unchecked(slots[s]);
      if (k == 0) return -1;
      if (unchecked(this.keys[k - 1]) == key) return k - 1;
    }
    // biome-ignore lint/correctness/noUnreachable: asc wants a return after for (;;) (TS2355)
    return -1;
  }

  private place(slots: StaticArray<i32>, key: string, indexPlusOne: i32): void {
    let mask = slots.length - 1;
    let s = keyHash(key) & mask;
    while (unchecked(slots[s]) != 0) s = (s + 1) & mask;
    unchecked((slots[s] = indexPlusOne));
  }

  private rehash(): StaticArray<i32> {
    let old = this.slots;
    let slots = new StaticArray<i32>(old === null ? 8 : old.length << 1);
    for (let i = 0; i < this.keys.length; i++) this.place(slots, unchecked(this.keys[i]), i + 1);
    this.slots = slots;
    return slots;
  }
}

/** FNV-1a over a key's UTF-16 code units. */
function keyHash(key: string): i32 {
  let h: u32 = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= <u32>key.charCodeAt(i);
    h *= 16777619;
  }
  return <i32>(h & 0x7fffffff);
}

/** The outcome: a value, or an error message and the byte offset it refers to. */
export class JsonResult {
  constructor(
    public value: JsonValue | null,
    public error: string,
    public offset: i32,
  ) {}
}

/** Parses one JSON document (UTF-8 of `text`). */
export function parseJson(text: string): JsonResult {
  let bytes = Uint8Array.wrap(String.UTF8.encode(text));
  if (bytes.length > MAX_JSON_BYTES) {
    return new JsonResult(null, "larger than " + decimal(MAX_JSON_BYTES) + " bytes", MAX_JSON_BYTES);
  }
  let p = new JsonParser(bytes);
  p.skipSpace();
  let v = p.value(0);
  if (v !== null) {
    p.skipSpace();
    if (p.pos < p.len) p.fail("unexpected " + p.describeHere() + " after the value");
  }
  if (p.error.length > 0) return new JsonResult(null, p.error, p.errorAt);
  return new JsonResult(v, "", 0);
}

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isDigit(c: i32): bool {
  return c >= 48 && c <= 57;
}

class JsonParser {
  pos: i32 = 0;
  len: i32;
  error: string = "";
  errorAt: i32 = 0;

  constructor(private bytes: Uint8Array) {
    this.len = bytes.length;
  }

  /** The byte at `i`, or -1 past the end. */
  at(i: i32): i32 {
    return i >= 0 && i < this.len ? <i32>unchecked(this.bytes[i]) : -1;
  }

  fail(message: string): void {
    if (this.error.length > 0) return;
    this.error = message;
    this.errorAt = this.pos;
  }

  describeHere(): string {
    let c = this.at(this.pos);
    if (c < 0) return "end of input";
    if (c > 0x20 && c < 0x7f) return "'" + String.fromCharCode(c) + "'";
    return "byte 0x" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
  }

  skipSpace(): void {
    while (this.pos < this.len) {
      let c = this.at(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.pos++;
    }
  }

  /** The value at `pos` (whitespace already skipped), or null after `fail`. */
  value(depth: i32): JsonValue | null {
    let c = this.at(this.pos);
    if (c == 123 /* { */ || c == 91 /* [ */) {
      if (depth >= MAX_JSON_DEPTH) {
        this.fail("nested deeper than " + decimal(MAX_JSON_DEPTH) + " levels");
        return null;
      }
      return c == 123 ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c == 34 /* " */) {
      let start = this.pos;
      let s = this.string();
      if (s === null) return null;
      let v = new JsonValue(JsonKind.String, start);
      v.str = s;
      return v;
    }
    if (c == 45 /* - */ || isDigit(c)) return this.number();
    if (this.literal("true")) {
      let v = new JsonValue(JsonKind.Bool, this.pos - 4);
      v.bool = true;
      return v;
    }
    if (this.literal("false")) return new JsonValue(JsonKind.Bool, this.pos - 5);
    if (this.literal("null")) return new JsonValue(JsonKind.Null, this.pos - 4);
    this.fail("unexpected " + this.describeHere() + ", expected a value");
    return null;
  }

  literal(word: string): bool {
    let n = word.length;
    for (let i = 0; i < n; i++) {
      if (this.at(this.pos + i) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  object(depth: i32): JsonValue | null {
    let obj = new JsonValue(JsonKind.Object, this.pos);
    this.pos++; // {
    this.skipSpace();
    if (this.at(this.pos) == 125 /* } */) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (this.at(this.pos) != 34) {
        this.fail("unexpected " + this.describeHere() + ", expected a key in quotes");
        return null;
      }
      let keyAt = this.pos;
      let key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.at(this.pos) != 58 /* : */) {
        this.fail("unexpected " + this.describeHere() + ", expected ':'");
        return null;
      }
      this.pos++;
      this.skipSpace();
      let v = this.value(depth);
      if (v === null) return null;
      if (!obj.add(key, v)) {
        this.pos = keyAt;
        this.fail("duplicate key " + quote(key));
        return null;
      }
      this.skipSpace();
      let c = this.at(this.pos);
      if (c == 125) {
        this.pos++;
        return obj;
      }
      if (c != 44 /* , */) {
        this.fail("unexpected " + this.describeHere() + ", expected ',' or '}'");
        return null;
      }
      this.pos++;
      this.skipSpace();
    }
    // biome-ignore lint/correctness/noUnreachable: asc wants a return after for (;;) (TS2355)
    return null; // not reached
  }

  array(depth: i32): JsonValue | null {
    let arr = new JsonValue(JsonKind.Array, this.pos);
    this.pos++; // [
    this.skipSpace();
    if (this.at(this.pos) == 93 /* ] */) {
      this.pos++;
      return arr;
    }
    for (;;) {
      let v = this.value(depth);
      if (v === null) return null;
      arr.items.push(v);
      this.skipSpace();
      let c = this.at(this.pos);
      if (c == 93) {
        this.pos++;
        return arr;
      }
      if (c != 44) {
        this.fail("unexpected " + this.describeHere() + ", expected ',' or ']'");
        return null;
      }
      this.pos++;
      this.skipSpace();
    }
    // biome-ignore lint/correctness/noUnreachable: asc wants a return after for (;;) (TS2355)
    return null; // not reached
  }

  number(): JsonValue | null {
    let start = this.pos;
    if (this.at(this.pos) == 45) this.pos++;
    let c = this.at(this.pos);
    if (c == 48 /* 0 */) {
      this.pos++;
    } else if (isDigit(c)) {
      while (isDigit(this.at(this.pos))) this.pos++;
    } else {
      this.fail("unexpected " + this.describeHere() + " in a number");
      return null;
    }
    if (this.at(this.pos) == 46 /* . */) {
      this.pos++;
      if (!isDigit(this.at(this.pos))) {
        this.fail("unexpected " + this.describeHere() + " in a number, expected a digit");
        return null;
      }
      while (isDigit(this.at(this.pos))) this.pos++;
    }
    c = this.at(this.pos);
    if (c == 101 /* e */ || c == 69 /* E */) {
      this.pos++;
      c = this.at(this.pos);
      if (c == 43 /* + */ || c == 45) this.pos++;
      if (!isDigit(this.at(this.pos))) {
        this.fail("unexpected " + this.describeHere() + " in a number, expected a digit");
        return null;
      }
      while (isDigit(this.at(this.pos))) this.pos++;
    }
    let v = new JsonValue(JsonKind.Number, start);
    // The text is pure ASCII, checked against the grammar above.
    v.str = String.UTF8.decodeUnsafe(this.bytes.dataStart + <usize>start, <usize>(this.pos - start));
    this.integerValue(v, start);
    return v;
  }

  /**
   * Sets `v.integer` when the number at `start` (checked against the grammar)
   * is a whole number that fits 17 digits. The configuration only ever needs
   * small integers, so there is no floating point here.
   */
  integerValue(v: JsonValue, start: i32): void {
    let p = start;
    let negative = this.at(p) == 45;
    if (negative) p++;
    let mantissa: i64 = 0;
    let exponent: i32 = 0;
    let big = false;
    let fraction = false;
    for (; p < this.pos; p++) {
      let c = this.at(p);
      if (c == 46 /* . */) {
        fraction = true;
      } else if (isDigit(c)) {
        if (mantissa >= 10_000_000_000_000_000) {
          big = true;
          break;
        }
        mantissa = mantissa * 10 + <i64>(c - 48);
        if (fraction) exponent--;
      } else {
        break; // e or E
      }
    }
    if (big) return;
    if (p < this.pos) {
      p++; // e
      let sign = 1;
      if (this.at(p) == 43 || this.at(p) == 45) sign = this.at(p++) == 45 ? -1 : 1;
      let e = 0;
      for (; p < this.pos; p++) if (e < 1000) e = e * 10 + (this.at(p) - 48);
      exponent += sign * e;
    }
    while (exponent < 0) {
      if (mantissa % 10 != 0) return;
      mantissa /= 10;
      exponent++;
    }
    while (exponent > 0 && mantissa != 0) {
      if (mantissa >= 10_000_000_000_000_000) return;
      mantissa *= 10;
      exponent--;
    }
    v.integer = negative ? -mantissa : mantissa;
    v.isInteger = true;
  }

  /** A string at `pos` (on its opening quote), or null after `fail`. */
  string(): string | null {
    this.pos++; // "
    let out = "";
    let run = this.pos; // start of the bytes not yet copied to `out`
    for (;;) {
      let c = this.at(this.pos);
      if (c < 0) {
        this.fail("unterminated string");
        return null;
      }
      if (c == 34) {
        out += this.decodeRun(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) {
        this.fail("control character " + this.describeHere() + " in a string (escape it)");
        return null;
      }
      if (c == 92 /* \ */) {
        out += this.decodeRun(run, this.pos);
        let unit = this.escape();
        if (unit < 0) return null;
        if (unit > 0xffff) {
          out += String.fromCharCode(0xd800 + ((unit - 0x10000) >> 10), 0xdc00 + ((unit - 0x10000) & 0x3ff));
        } else {
          out += String.fromCharCode(unit);
        }
        run = this.pos;
        continue;
      }
      if (c < 0x80) {
        this.pos++;
        continue;
      }
      let n = this.utf8Sequence();
      if (n == 0) {
        this.fail("invalid UTF-8 " + this.describeHere());
        return null;
      }
      this.pos += n;
    }
    // biome-ignore lint/correctness/noUnreachable: asc wants a return after for (;;) (TS2355)
    return null; // not reached
  }

  decodeRun(from: i32, to: i32): string {
    if (to <= from) return "";
    return String.UTF8.decodeUnsafe(this.bytes.dataStart + <usize>from, <usize>(to - from));
  }

  /** Length of the well-formed UTF-8 sequence at `pos` (a lead byte ≥ 0x80), 0 if malformed. */
  utf8Sequence(): i32 {
    let c = this.at(this.pos);
    let n: i32;
    let min: i32;
    let cp: i32;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
      min = 0x80;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      min = 0x800;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      min = 0x10000;
      cp = c & 0x07;
    } else {
      return 0;
    }
    for (let i = 1; i < n; i++) {
      let d = this.at(this.pos + i);
      if (d < 0x80 || d > 0xbf) return 0;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
  }

  /** Reads one escape at `pos` (on the backslash); returns its code point, or -1 after `fail`. */
  escape(): i32 {
    this.pos++;
    let c = this.at(this.pos);
    this.pos++;
    switch (c) {
      case 34:
        return 34;
      case 92:
        return 92;
      case 47:
        return 47;
      case 98:
        return 8; // \b
      case 102:
        return 12; // \f
      case 110:
        return 10; // \n
      case 114:
        return 13; // \r
      case 116:
        return 9; // \t
      case 117: {
        // \uXXXX, surrogate pairs as two escapes
        let hi = this.hex4();
        if (hi < 0) return -1;
        if (hi >= 0xdc00 && hi <= 0xdfff) {
          this.pos -= 6;
          this.fail("lone low surrogate in \\u escape");
          return -1;
        }
        if (hi < 0xd800 || hi > 0xdbff) return hi;
        if (this.at(this.pos) != 92 || this.at(this.pos + 1) != 117) {
          this.fail("high surrogate \\u escape not followed by a low one");
          return -1;
        }
        this.pos += 2;
        let lo = this.hex4();
        if (lo < 0) return -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
          this.pos -= 6;
          this.fail("high surrogate \\u escape not followed by a low one");
          return -1;
        }
        return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
      }
    }
    this.pos--;
    this.fail("invalid escape " + (c < 0 ? "at end of input" : "\\" + this.describeHere()));
    return -1;
  }

  hex4(): i32 {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      let d = hexValue(this.at(this.pos));
      if (d < 0) {
        this.fail("unexpected " + this.describeHere() + " in a \\u escape, expected a hex digit");
        return -1;
      }
      v = (v << 4) | d;
      this.pos++;
    }
    return v;
  }
}

/**
 * A string in double quotes for messages: JSON escapes, anything outside
 * printable ASCII as \uXXXX (log lines stay one line of ASCII), at most 64
 * characters of it shown.
 */
export function quote(s: string): string {
  let out = '"';
  let n = s.length;
  let shown = n > 64 ? 64 : n;
  for (let i = 0; i < shown; i++) {
    let c = s.charCodeAt(i);
    if (c == 34) out += '\\"';
    else if (c == 92) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else {
      out += "\\u" + HEX_LOWER.charAt((c >> 12) & 15) + HEX_LOWER.charAt((c >> 8) & 15) + HEX_LOWER.charAt((c >> 4) & 15) + HEX_LOWER.charAt(c & 15);
    }
  }
  if (shown < n) out += "...";
  return out + '"';
}
