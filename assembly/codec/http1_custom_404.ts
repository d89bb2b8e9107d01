// The custom 404 page at L4: a new response head and body built from the
// upstream's 404 head.
//
// The status line is kept byte for byte, and so is every header except the
// ones that describe the old body (Content-Length, Transfer-Encoding,
// Content-Type, Content-Encoding); then the page's Content-Type and
// Content-Length, then the page. A response to HEAD gets the same head and no
// page bytes. Pure: the head was already validated by the response parser
// (CRLF line ends, no folded lines).

import { ByteBuilder } from "./byte_builder";

/** Header names (lower case) whose value belonged to the replaced body. */
const DROPPED: string[] = ["content-length", "transfer-encoding", "content-type", "content-encoding"];

/** The bytes of the page and its content type, encoded once per configuration. */
export class CustomPage {
  readonly body: Uint8Array;
  /** "Content-Type: …\r\nContent-Length: …\r\n\r\n" */
  readonly headerTail: Uint8Array;

  constructor(contentType: string, body: string) {
    let bytes = Uint8Array.wrap(String.UTF8.encode(body));
    this.body = bytes;
    let tail = "Content-Type: " + contentType + "\r\nContent-Length: " + bytes.length.toString() + "\r\n\r\n";
    this.headerTail = Uint8Array.wrap(String.UTF8.encode(tail));
  }
}

/** Appends to `out` the custom page response for the 404 head at `head` (`len` bytes, ending in the blank line). */
export function writeCustom404(head: usize, len: i32, page: CustomPage, bodyless: bool, out: ByteBuilder): void {
  let lineStart = 0;
  let first = true;
  while (lineStart < len) {
    let end = lineEnd(head, lineStart, len);
    if (end == lineStart || end == len) break; // the blank line closing the head
    if (first || !isDropped(head + <usize>lineStart, end - lineStart)) out.append(head + <usize>lineStart, end - lineStart + 2);
    first = false;
    lineStart = end + 2;
  }
  out.appendBytes(page.headerTail);
  if (!bodyless) out.appendBytes(page.body);
}

/** Index of the CR that ends the line starting at `from` (or `len`). */
function lineEnd(head: usize, from: i32, len: i32): i32 {
  for (let i = from; i + 1 < len; i++) {
    if (load<u8>(head + <usize>i) == 13 && load<u8>(head + <usize>(i + 1)) == 10) return i;
  }
  return len;
}

function isDropped(line: usize, len: i32): bool {
  let colon = 0;
  while (colon < len && load<u8>(line + <usize>colon) != 58) colon++;
  for (let d = 0; d < DROPPED.length; d++) {
    let name = unchecked(DROPPED[d]);
    if (name.length != colon) continue;
    let same = true;
    for (let k = 0; k < colon; k++) {
      let c = <i32>load<u8>(line + <usize>k);
      if (c >= 65 && c <= 90) c += 32;
      if (c != name.charCodeAt(k)) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}
