// The TLS decoder: a TLS connection is one exchange, its handshake. The
// request is the ClientHello (its first byte starts the clock; its target is
// the server name, SNI; the first offered ALPN protocol is kept), the
// response the final ServerHello (its status is the negotiated version).
// Nothing is decrypted and nothing after the hellos is read: once the
// ServerHello is in, the server's bytes pass unread; the client's are read up
// to the end of its first record after it (its second flight: in TLS 1.2 a
// plaintext alert there is the client refusing the certificate), then pass
// unread too.
//
// Failures (DecoderEvent.Failure, `failure` one of TlsFailure): a plaintext
// alert record before that point (either side), bytes that are not TLS, a
// hello that breaks the format, and a connection that ends after the client's
// first byte but before the ServerHello. At most one per connection: the
// first. tls_hello.ts does the byte work.

import { Decoder, DecoderEvent } from "./decoder";
import { TlsEvent, TlsHelloDecoder } from "./tls_hello";

/** The `protocol` name of this decoder in the plugin configuration. */
export const TLS_PROTOCOL = "tls";

/** What ended a handshake (`failure`). */
export enum TlsFailure {
  None = 0,
  /** The first bytes, either way, are not TLS. */
  NotTls = 1,
  /** A record or hello that breaks the format. */
  Malformed = 2,
  /** The connection ended between the client's first byte and the ServerHello. */
  Incomplete = 3,
  /** A plaintext alert record (`alertDescription`; -1 when it was not a plaintext 2-byte alert). */
  Alert = 4,
}

export class TlsDecoder extends Decoder {
  private hello: TlsHelloDecoder = new TlsHelloDecoder();
  private started: bool = false;
  private failed: bool = false;
  /** The handshake was seen through: the client's bytes need not be read any more. */
  private clientDone: bool = false;
  /** Client bytes consumed while reading. */
  private clientBytes: u64 = 0;
  /** The description of the alert reported (Failure, TlsFailure.Alert). */
  alertDescription: i32 = -1;

  constructor() {
    super();
    this.clientNamesMethod = false;
  }

  // ---- the ClientHello's first ALPN protocol (Request), for the label policy
  get hasAlpn(): bool {
    return this.hello.hasAlpn;
  }
  get alpn(): Uint8Array {
    return this.hello.alpn;
  }
  get alpnLength(): i32 {
    return this.hello.alpnLength;
  }
  get alpnTooLong(): bool {
    return this.hello.alpnTooLong;
  }

  reset(): void {
    this.event = DecoderEvent.None;
    this.hello.reset();
    this.started = false;
    this.failed = false;
    this.clientDone = false;
    this.clientBytes = 0;
    this.alertDescription = -1;
    this.failure = TlsFailure.None;
    this.status = 0;
    this.opaqueDownstreamBytes = 0;
  }

  downstream(ptr: usize, len: i32): i32 {
    let h = this.hello;
    let ev = DecoderEvent.None;
    if (!this.started && len > 0) {
      this.started = true;
      ev |= DecoderEvent.RequestStart;
    }
    let n = h.client(ptr, len);
    this.clientBytes += <u64>n;
    ev |= this.helloEvent();
    if (h.clientSecondFlight && h.clientBetweenRecords && !h.stopped) this.clientDone = true;
    this.event = ev;
    return n;
  }

  upstream(ptr: usize, len: i32): i32 {
    let n = this.hello.server(ptr, len);
    this.event = this.helloEvent();
    return n;
  }

  /** The events of the hello decoder's last event. */
  private helloEvent(): i32 {
    let h = this.hello;
    switch (h.event) {
      case TlsEvent.ClientHello: {
        this.target = h.sni;
        this.targetLength = h.sniLength;
        this.targetTruncated = h.sniTooLong;
        this.hasEndpoint = h.hasSni;
        return DecoderEvent.Request;
      }
      case TlsEvent.ServerHello: {
        this.status = h.version;
        return DecoderEvent.ResponseHead | DecoderEvent.ResponseEnd | DecoderEvent.UpstreamStopped;
      }
      case TlsEvent.Alert: {
        this.alertDescription = h.alertDescription;
        return this.fail(TlsFailure.Alert);
      }
      case TlsEvent.NotTls:
      case TlsEvent.Malformed: {
        // a break in the client's hello: none of its bytes so far were decoded
        // into anything; either way the rest of the connection passes unread
        if (!h.errorFromServer && !h.clientHelloDone) this.opaqueDownstreamBytes += this.clientBytes;
        return this.fail(h.event == TlsEvent.NotTls ? TlsFailure.NotTls : TlsFailure.Malformed) | DecoderEvent.UpstreamStopped;
      }
      default:
        return DecoderEvent.None;
    }
  }

  private fail(why: TlsFailure): i32 {
    if (this.failed) return DecoderEvent.None;
    this.failed = true;
    this.failure = why;
    return DecoderEvent.Failure;
  }

  downstreamStopped(): bool {
    return this.clientDone || this.hello.stopped;
  }

  /** After the handshake the client's bytes are TLS records, sitio's to pass, not opaque; after a failure to read them they are. */
  downstreamRestOpaque(): bool {
    return this.hello.stopped;
  }

  upstreamStopped(): bool {
    return this.hello.serverHelloDone || this.hello.stopped;
  }

  upstreamClosed(): i32 {
    let h = this.hello;
    if (h.handshakeIncomplete) {
      h.stop();
      return this.fail(TlsFailure.Incomplete);
    }
    return DecoderEvent.None;
  }
}
