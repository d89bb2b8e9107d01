// The interface every protocol decoder of the network (L4) filter implements.
//
// Like MetaProtocol's codecs, a decoder only turns one protocol's bytes into
// events; it knows nothing of metrics, labels or the host. The network stream
// feeds it each direction's bytes in order, with any split, and reacts to the
// events: network/exchange_tracker.ts matches responses to requests and times
// them, metrics/tcp_metrics.ts counts them. One decoder instance serves one
// connection. A decoder never throws and never traps: bytes it cannot decode
// are reported as opaque and pass through untouched.
//
// Pull style: `downstream(ptr, len)` / `upstream(ptr, len)` consume bytes until
// one event happens or the bytes run out and return how many they consumed;
// the caller reads `event` (a bit set of DecoderEvent) and the facts below,
// then calls again with the rest.

/** Requests a connection may have awaiting a response: a decoder remembers at most this many, and so does the tracker. */
export const MAX_PENDING_REQUESTS = 1024;

/** What the last call found (bits: one call may report several, e.g. a response without a body is ResponseHead | ResponseEnd). */
export enum DecoderEvent {
  None = 0,
  /** The first byte of a request was consumed (its duration starts here). */
  RequestStart = 1,
  /** A request is complete enough to count: read `method`, `target`, `requestId`. */
  Request = 2,
  /** A response head was read: read `status`, `interim`, `headBytes`. */
  ResponseHead = 4,
  /** A final response ended with the last byte consumed: read `status`, `responseId`. */
  ResponseEnd = 8,
  /** A client message broke the protocol (it is skipped; decoding goes on after it). */
  MalformedRequest = 16,
  /** An upstream message broke the protocol (skipped likewise). */
  MalformedResponse = 32,
  /** The upstream side is no longer decoded (not this protocol, or a switch): the rest passes unread. */
  UpstreamStopped = 64,
  /** Client bytes are now held until the upstream answers (HTTP/1.x protocol switch); see hasReplay. */
  Held = 128,
  /** The connection failed in a way the protocol names (TLS: an alert, a handshake cut short, bytes that are not TLS): read `failure`. */
  Failure = 256,
}

export abstract class Decoder {
  /** Events of the last call (DecoderEvent bits). */
  event: i32 = 0;

  // ---- the request just reported (Request)
  /** The method as the protocol names it: one of the decoder's constant strings, never built per request. */
  method: string = "";
  /** The client chose the method's name (HTTP: any token), so its label is bounded by the label policy; otherwise the name is one of the protocol's own words and is its label. */
  clientNamesMethod: bool = true;
  /** The request target's bytes (`targetLength` of them), or none when the protocol has no endpoint. */
  target: Uint8Array = new Uint8Array(0);
  targetLength: i32 = 0;
  /** Only the target's first bytes were kept. */
  targetTruncated: bool = false;
  /** The protocol has no endpoint: every request is labelled `-`. */
  hasEndpoint: bool = true;
  /** Responses are matched to requests by id (Foo's sequence number), not in order. */
  matchesById: bool = false;
  requestId: u64 = 0;

  // ---- the response just reported (ResponseHead, ResponseEnd)
  /** Numeric status (HTTP), 0 when the protocol has none or it is not known yet. */
  status: i32 = 0;
  /** The status as one of the protocol's own words (Foo: "ACK", "NAK"), or "" when numeric. */
  statusWord: string = "";
  /** The head just reported is interim (HTTP 1xx other than 101): the request is still open. */
  interim: bool = false;
  /** Bytes of the current response head consumed so far. */
  headBytes: i32 = 0;
  /** The response at hand answers a HEAD request (no body, whatever its headers say). */
  responseToHead: bool = false;
  /** The response head just reported answers no request (the upstream spoke first, or once too often). */
  unmatchedResponse: bool = false;
  responseId: u64 = 0;

  // ---- the failure just reported (Failure)
  /** The decoder's own code for it (TLS: see tls.ts); the metrics turn it into a label. */
  failure: i32 = 0;

  // ---- totals
  /** Client bytes that were not decoded (not this protocol, after a protocol error or a switch, malformed messages). */
  opaqueDownstreamBytes: u64 = 0;

  /** Client bytes, in order. */
  abstract downstream(ptr: usize, len: i32): i32;

  /** Upstream bytes, in order. */
  abstract upstream(ptr: usize, len: i32): i32;

  /**
   * Upstream bytes the decoder can take without looking at them (a body in
   * progress): the caller may skip reading them and call `skipUpstream`.
   */
  upstreamSkippable(): u64 {
    return 0;
  }

  /** Consumes `n` (≤ upstreamSkippable()) upstream bytes unseen; reports events as `upstream` does. */
  skipUpstream(n: i32): i32 {
    return 0;
  }

  /** A response head is partly read and its status is not known or is `status`: the caller may hold its bytes. */
  inResponseHead(): bool {
    return false;
  }

  /** The upstream side is decoded no more (see UpstreamStopped). */
  upstreamStopped(): bool {
    return false;
  }

  /** The client's side is decoded no more: the caller need not read its bytes. */
  downstreamStopped(): bool {
    return false;
  }

  /**
   * Whether the client's bytes after the stop are opaque (not this protocol,
   * or past a switch: counted as unparsed) rather than the protocol's own
   * payload it has no need to read (TLS: the encrypted data after the handshake).
   */
  downstreamRestOpaque(): bool {
    return true;
  }

  /**
   * The upstream closed its side. Returns the events it causes: a response whose body ran until the close ends (ResponseEnd).
   */
  upstreamClosed(): i32 {
    return DecoderEvent.None;
  }

  /**
   * Client bytes the decoder held while it waited for the upstream (HTTP/1.x:
   * after a protocol switch the upstream refused) and must now decode: the
   * caller calls `replay()` like `downstream` while this is true.
   */
  hasReplay(): bool {
    return false;
  }

  /** Decodes held client bytes (see hasReplay); returns the bytes consumed. */
  replay(): i32 {
    return 0;
  }

  /** Back to the state of a new connection, keeping allocated buffers (decoders are reused). */
  abstract reset(): void;
}
