// A fixed list of words kept as one comma-separated string: looked up by the
// bytes that spell a word, and handed out as constant strings (each made once,
// on first use). One string instead of one per word keeps the module small:
// every string constant costs a 20-byte header and two bytes per character.

export class WordList {
  private text: string;
  /** Word i spans text[starts[i], starts[i + 1] - 1). */
  private starts: StaticArray<i32>;
  private made: StaticArray<string | null>;

  constructor(commaSeparated: string) {
    let text = commaSeparated;
    let n = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) == 44) n++;
    let starts = new StaticArray<i32>(n + 1);
    let w = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) == 44) unchecked((starts[w++] = i + 1));
    unchecked((starts[n] = text.length + 1));
    this.text = text;
    this.starts = starts;
    this.made = new StaticArray<string | null>(n);
  }

  get length(): i32 {
    return this.made.length;
  }

  /** The index of the word spelled by `len` bytes at `p` (case-sensitive), or -1. */
  find(p: usize, len: i32): i32 {
    let text = this.text;
    let starts = this.starts;
    let n = this.made.length;
    for (let w = 0; w < n; w++) {
      let start = unchecked(starts[w]);
      if (unchecked(starts[w + 1]) - 1 - start != len) continue;
      let t = changetype<usize>(text) + ((<usize>start) << 1);
      let k = 0;
      while (k < len && <u32>load<u8>(p + <usize>k) == <u32>load<u16>(t + ((<usize>k) << 1))) k++;
      if (k == len) return w;
    }
    return -1;
  }

  /** The index of word `s`, or -1. */
  findString(s: string): i32 {
    let text = this.text;
    let starts = this.starts;
    let len = s.length;
    for (let w = 0; w < this.made.length; w++) {
      let start = unchecked(starts[w]);
      if (unchecked(starts[w + 1]) - 1 - start != len) continue;
      let k = 0;
      while (k < len && s.charCodeAt(k) == text.charCodeAt(start + k)) k++;
      if (k == len) return w;
    }
    return -1;
  }

  /** Word `i`, the same string object every time. */
  word(i: i32): string {
    let s = unchecked(this.made[i]);
    if (s === null) {
      s = this.text.substring(unchecked(this.starts[i]), unchecked(this.starts[i + 1]) - 1);
      unchecked((this.made[i] = s));
    }
    return s;
  }
}
