// Whole numbers as decimal text, for log lines and refusal messages. The
// standard library's toString() brings a 400-byte digit table and two
// formatting routines into the module for what is never on the data path.

/** `n` in decimal, with a leading `-` when negative. */
export function decimal(n: i64): string {
  if (n == 0) return "0";
  let negative = n < 0;
  let u: u64 = negative ? <u64>0 - <u64>n : <u64>n;
  let digits = 0;
  for (let t = u; t != 0; t /= 10) digits++;
  let length = digits + (negative ? 1 : 0);
  let out = changetype<string>(__new((<usize>length) << 1, idof<string>()));
  let p = changetype<usize>(out) + ((<usize>length) << 1);
  for (; u != 0; u /= 10) {
    p -= 2;
    store<u16>(p, <u16>(48 + <u32>(u % 10)));
  }
  if (negative) store<u16>(changetype<usize>(out), 45);
  return out;
}
