// HTTP/1.x codec: counts each request once, by method and endpoint, from the
// raw downstream bytes (keep-alive, pipelining and any split included); reads
// the upstream's responses, matches them to the requests in order, and times
// each request from its first byte to its response's last byte; rewrites
// upstream 404 responses to the configured page; follows protocol switches
// (CONNECT, Upgrade, the HTTP/2 preface), after which both directions pass
// through unread.

import { Codec } from "./codec";
import { ByteBuilder } from "./byte_builder";
import { CustomPage, writeCustom404 } from "./http1_custom_404";
import { Http1RequestParser, RequestEvent } from "./http1_request";
import { Http1ResponseParser, ResponseEvent } from "./http1_response";
import { PendingRequests, REQUEST_CONNECT, REQUEST_HEAD, REQUEST_SWITCH } from "./pending_requests";
import { incrementMetric } from "../abi/host";
import { Config } from "../config";
import { TcpMetrics } from "../network/tcp_metrics";

/** Bytes of a 404 head withheld across reads before giving up on rewriting it (it then passes untouched). */
export const MAX_HELD_HEAD_BYTES = 32 * 1024;

/** The `status` label of a response: its class. */
const STATUS_CLASSES: string[] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"];

// The custom page of the configuration last used, encoded once.
let pageConfig: Config | null = null;
let page: CustomPage | null = null;

function customPage(config: Config): CustomPage {
  if (pageConfig !== config || page === null) {
    page = new CustomPage(config.custom404ContentType, config.custom404Body);
    pageConfig = config;
  }
  return page!;
}

export class Http1Codec extends Codec {
  private requests: Http1RequestParser = new Http1RequestParser();
  private responses: Http1ResponseParser = new Http1ResponseParser();
  private pending: PendingRequests = new PendingRequests();

  // ---- downstream
  private requestsStarted: u32 = 0;
  private requestStartNs: u64 = 0;
  private opaqueReported: u64 = 0;
  /** When the request parser began holding bytes for a protocol switch (0: not holding). */
  private holdSinceNs: u64 = 0;

  // ---- upstream
  /** The upstream side is passed through unread (a response that answers no request, or not HTTP). */
  private upstreamOff: bool = false;
  private upstreamClosed: bool = false;
  /** The start of a response head withheld from the client until its status is known (custom 404 only). */
  private heldHead: ByteBuilder | null = null;
  /** The current response head grew past MAX_HELD_HEAD_BYTES: it is not rewritten. */
  private rewriteGivenUp: bool = false;
  /** Inside the body of a rewritten 404: its bytes are dropped. */
  private swallowing: bool = false;

  // ---- the upstream read being processed (valid during onUpstream only)
  private readPtr: usize = 0;
  /** The bytes to forward instead of the read; null while the read is forwarded untouched. */
  private out: ByteBuilder | null = null;
  /** Read bytes before this index are already in `out` (or dropped). */
  private emitFrom: i32 = 0;

  constructor(config: Config, metrics: TcpMetrics) {
    super(config, metrics);
  }

  onDownstream(ptr: usize, len: i32, nowNs: u64): void {
    this.feedRequests(ptr, len, nowNs);
  }

  onUpstream(ptr: usize, len: i32, nowNs: u64): Uint8Array | null {
    let r = this.responses;
    if (this.upstreamOff || r.opaque) return null;
    this.readPtr = ptr;
    this.out = null;
    this.emitFrom = 0;
    let off = 0;
    while (off < len) {
      let flags = this.pending.frontFlags;
      r.requestIsHead = (flags & REQUEST_HEAD) != 0;
      r.requestIsConnect = (flags & REQUEST_CONNECT) != 0;
      off += r.execute(ptr + <usize>off, len - off);
      let ev = r.event;
      if (ev == ResponseEvent.Error) {
        this.passThroughFrom();
        break;
      }
      if ((ev & ResponseEvent.Head) != 0) {
        if (this.pending.empty) {
          incrementMetric(this.metrics.unmatchedResponses, 1);
          r.goOpaque();
          this.passThroughFrom();
          break;
        }
        if (!r.interim) this.finalHead(off, (ev & ResponseEvent.Complete) != 0);
        else this.flushHeldHead();
      }
      if ((ev & ResponseEvent.Complete) != 0) {
        if (this.swallowing) {
          this.emitFrom = off;
          this.swallowing = false;
          this.ensureOut(len);
        }
        this.responseComplete(nowNs);
      }
    }
    this.endOfRead(len);
    if (this.out === null) return null;
    this.emitUpTo(len);
    let out = this.out!;
    this.out = null;
    return out.bytes();
  }

  onUpstreamClose(nowNs: u64): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    // a head still withheld is lost with the connection: the response was cut short anyway
    this.heldHead = null;
    if (this.upstreamOff) return;
    if (this.responses.finish()) this.responseComplete(nowNs);
  }

  // ---------------------------------------------------------------- requests

  private feedRequests(ptr: usize, len: i32, nowNs: u64): void {
    let p = this.requests;
    let off = 0;
    while (off < len) {
      off += p.execute(ptr + <usize>off, len - off);
      if (p.started != this.requestsStarted) {
        this.requestsStarted = p.started;
        this.requestStartNs = nowNs;
      }
      if (p.event == RequestEvent.Head) {
        let series = this.metrics.request(p.method, p.target, p.targetTruncated);
        let flags: u8 = 0;
        if (p.method == "HEAD") flags |= REQUEST_HEAD;
        if (p.method == "CONNECT") flags |= REQUEST_CONNECT;
        if (p.upgrade) flags |= REQUEST_SWITCH;
        if (!this.pending.push(series, this.requestStartNs, flags)) incrementMetric(this.metrics.untimedRequests, 1);
      }
    }
    if (p.awaitingSwitch && this.holdSinceNs == 0) this.holdSinceNs = nowNs;
    this.reportOpaque();
  }

  private reportOpaque(): void {
    let opaque = this.requests.opaqueBytes;
    if (opaque > this.opaqueReported) {
      this.metrics.unparsed(opaque - this.opaqueReported);
      this.opaqueReported = opaque;
    }
  }

  /** The upstream answered a CONNECT/Upgrade request (or sent 101): switch both directions, or resume parsing. */
  private resolveSwitch(status: i32, flags: u8): void {
    let accepted = status == 101 || ((flags & REQUEST_CONNECT) != 0 && status >= 200 && status < 300);
    let since = this.holdSinceNs;
    this.holdSinceNs = 0;
    if (accepted) {
      this.requests.resolveSwitch(true);
      this.reportOpaque();
      return;
    }
    let held = this.requests.resolveSwitch(false);
    // the held requests are timed from when holding began (their own arrival was not recorded)
    if (held !== null) this.feedRequests(held.dataStart, held.length, since);
  }

  // ---------------------------------------------------------------- responses

  /** A final response head ended at read offset `headEnd`. */
  private finalHead(headEnd: i32, bodyless: bool): void {
    let r = this.responses;
    let flags = this.pending.frontFlags;
    if ((flags & REQUEST_SWITCH) != 0 || r.status == 101) this.resolveSwitch(r.status, flags);
    let giveUp = this.rewriteGivenUp;
    this.rewriteGivenUp = false;
    if (r.status != 404 || !this.config.custom404 || giveUp) {
      this.flushHeldHead();
      return;
    }
    // the head: withheld bytes from earlier reads, then the rest of it in this read
    let held = this.heldHead;
    let inRead = r.headBytes - (held === null ? 0 : held.length);
    let headStart = headEnd - inRead;
    this.emitUpTo(headStart);
    let out = this.out!;
    if (held === null) {
      writeCustom404(this.readPtr + <usize>headStart, inRead, customPage(this.config), (this.pending.frontFlags & REQUEST_HEAD) != 0, out);
    } else {
      held.append(this.readPtr + <usize>headStart, inRead);
      writeCustom404(held.dataStart, held.length, customPage(this.config), (this.pending.frontFlags & REQUEST_HEAD) != 0, out);
      this.heldHead = null;
    }
    this.emitFrom = headEnd;
    this.swallowing = !bodyless;
    incrementMetric(this.metrics.custom404, 1);
  }

  /** The oldest pending request got its whole response. */
  private responseComplete(nowNs: u64): void {
    let pending = this.pending;
    let status = unchecked(STATUS_CLASSES[this.responses.status / 100]);
    if (pending.frontUntimed) {
      this.metrics.untimedResponse(status);
    } else {
      let series = pending.frontSeries;
      if (series !== null) this.metrics.response(series, status, pending.frontStartNs, nowNs);
    }
    pending.pop();
  }

  /** After the events of a read: drop a swallowed body, withhold a 404 head still arriving. */
  private endOfRead(len: i32): void {
    let r = this.responses;
    if (this.swallowing) {
      this.ensureOut(len);
      this.emitFrom = len;
      return;
    }
    let mayBe404 = r.status == 0 || r.status == 404;
    if (this.config.custom404 && !this.upstreamOff && r.inHead && mayBe404 && !this.rewriteGivenUp) {
      if (r.headBytes > MAX_HELD_HEAD_BYTES) {
        this.rewriteGivenUp = true;
        this.flushHeldHead();
        return;
      }
      let held = this.heldHead;
      let inRead = r.headBytes - (held === null ? 0 : held.length);
      this.emitUpTo(len - inRead);
      if (held === null) {
        held = new ByteBuilder(inRead);
        this.heldHead = held;
      }
      held.append(this.readPtr + <usize>(len - inRead), inRead);
      this.emitFrom = len;
      return;
    }
    this.flushHeldHead();
  }

  // ---------------------------------------------------------------- building the forwarded bytes

  /** Stops reading the upstream: withheld bytes and the rest of this read (and every later one) pass through. */
  private passThroughFrom(): void {
    this.upstreamOff = true;
    this.swallowing = false;
    this.flushHeldHead();
  }

  /** Forwards a withheld head start (it precedes every byte of the current read). */
  private flushHeldHead(): void {
    let held = this.heldHead;
    if (held === null) return;
    this.heldHead = null;
    this.ensureOut(held.length);
    this.out!.append(held.dataStart, held.length);
  }

  /** Copies the read's bytes up to `end` into the replacement. */
  private emitUpTo(end: i32): void {
    this.ensureOut(end);
    if (end > this.emitFrom) {
      this.out!.append(this.readPtr + <usize>this.emitFrom, end - this.emitFrom);
      this.emitFrom = end;
    }
  }

  private ensureOut(hint: i32): void {
    if (this.out === null) this.out = new ByteBuilder(hint + 256);
  }
}
