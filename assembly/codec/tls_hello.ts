// Incremental decoder of the unencrypted start of a TLS connection (TLS 1.0 to
// 1.3, RFC 5246 and RFC 8446): the ClientHello one way, the ServerHello the
// other, and the record headers around them. It never decrypts anything and
// never changes a byte: it only reads.
//
// One instance per connection, fed each direction's bytes in order, in any
// split down to one byte per call. Pull style, like http1_response.ts:
// `client(ptr, len)` and `server(ptr, len)` consume bytes until one event
// happens or the bytes run out and return how many they consumed; the caller
// reads `event` and calls again with the rest.
//
// What is read:
// - the record layer of both directions: type (20 to 24), version (major 3),
//   length (at most MAX_RECORD_LENGTH = 2^14 + 2048); payloads are skipped by
//   length unless they are the hello or a plaintext alert;
// - the ClientHello, reassembled from handshake records across record and read
//   boundaries by a streaming state machine over its fields (legacy version,
//   random, session id, cipher suites, compression methods, extensions):
//   nothing of the message is buffered; every vector length is checked against
//   the vector, extension and message that hold it. Kept: server_name (first
//   host_name, up to SNI_BYTES bytes), the first ALPN protocol (up to ALPN_BYTES
//   bytes), the number of ALPN protocols, the legacy version and the highest
//   offered version (from supported_versions when present, GREASE ignored);
// - the ServerHello: cipher suite and the negotiated version (supported_versions
//   when present, which is how TLS 1.3 is chosen; else legacy_version). A
//   HelloRetryRequest (a ServerHello with the RFC 8446 magic random) is reported
//   as such and the ServerHello that follows it is read the same way. After the
//   ServerHello only record headers are read, in both directions; the client's
//   first record after it is reported (ClientSecondFlight);
// - alert records: level and description when the record is 2 bytes long (a
//   plaintext alert; a protected one is longer, and in TLS 1.3 it is hidden
//   in an application-data record, so it is never seen as an alert).
//
// Errors: bytes that do not start like a TLS connection are NotTls (the
// direction's first record header is not a handshake or alert record of major
// version 3 and sane length, or the client's first handshake message is not a
// ClientHello). Anything else that breaks the format is Malformed (`error` says
// what). Both stop the decoder: every further byte, either way, passes unread
// (`stopped`). A connection that ends before the final ServerHello is
// `handshakeIncomplete`.
//
// Bounds: never traps, every loop step consumes a byte or ends, no allocation
// after construction. Memory per instance: this object, two Side objects and
// the SNI (255 B) and ALPN (32 B) buffers, about 800 bytes of wasm memory in
// all with the allocator's headers (measured: 811 B with AssemblyScript 0.17,
// 804 B with 0.28; tests/host/tls_hello.test.ts checks it stays under 1 KiB).
//
// Handshake time, for the caller to measure (the decoder keeps no clock):
// from the call that delivers the ClientHello's first byte to the ServerHello
// event. This is the same span for every version: one round trip through the
// server plus its key exchange work. It cannot reach further consistently:
// in TLS 1.3 everything the server sends after the ServerHello is encrypted
// (its Finished comes in the same flight, unseen); in TLS 1.2 the server's
// first application-data record waits for the client's request, so it would
// measure the application too. ClientSecondFlight (the client's first record
// after the ServerHello) is offered as a second point: in TLS 1.3 and in
// resumed TLS 1.2 it carries the client's Finished, so ClientHello → that
// event is the whole handshake as the client completes it (certificate
// checks included); in a full TLS 1.2 handshake one more round trip follows.
//
// Pure: no host calls, nothing imported; tested on byte tables in Node
// (tests/host/tls_hello.test.ts through tests/wasm/tls_hello_entry.ts).

/** What the last `client` or `server` call found. */
export enum TlsEvent {
  /** Nothing yet: all bytes consumed, feed more. */
  None = 0,
  /** The ClientHello is complete: read `sni*`, `alpn*`, `clientVersion`, `offeredVersion`. */
  ClientHello = 1,
  /** The (final) ServerHello is complete: read `version`, `cipherSuite`. */
  ServerHello = 2,
  /** A HelloRetryRequest is complete (`helloRetry` is set); another ServerHello follows. */
  HelloRetryRequest = 3,
  /** An alert record ended: `alertLevel` and `alertDescription` (-1 each when not plaintext). */
  Alert = 4,
  /** This direction's first bytes are not TLS (`error` says why); the decoder has stopped. */
  NotTls = 5,
  /** A record or hello that breaks the format (`error` says how); the decoder has stopped. */
  Malformed = 6,
  /** The client's first record after the final ServerHello began (its second flight). */
  ClientSecondFlight = 7,
}

/** Why the decoder stopped (`error`). */
export enum TlsError {
  None = 0,
  /** A record type other than those TLS defines, or one not allowed at this point. */
  RecordType = 1,
  /** A record version whose major byte is not 3. */
  RecordVersion = 2,
  /** A record longer than MAX_RECORD_LENGTH, or an empty handshake, alert or change_cipher_spec record. */
  RecordLength = 3,
  /** A handshake message other than the expected hello. */
  HandshakeType = 4,
  /** Lengths that do not add up: a vector longer than what holds it, or a message with bytes left over. */
  Length = 5,
  /** A field value the format forbids (session id over 32 bytes, odd cipher-suite list, empty name...). */
  Value = 6,
  /** A record of another type in the middle of a hello (handshake messages must not be interleaved). */
  Interleaved = 7,
  /** The same extension twice (server_name, ALPN or supported_versions). */
  Duplicate = 8,
  /** A second HelloRetryRequest. */
  SecondRetry = 9,
}

/** Longest record accepted: 2^14 bytes of plaintext plus 2048 of protection (RFC 5246 §6.2.3). */
export const MAX_RECORD_LENGTH: i32 = 16384 + 2048;
/** server_name bytes kept; a longer name sets `sniTooLong`. */
export const SNI_BYTES: i32 = 255;
/** First-ALPN-protocol bytes kept; a longer one sets `alpnTooLong`. */
export const ALPN_BYTES: i32 = 32;
/** Largest possible ClientHello body: every vector at its maximum. */
const MAX_CLIENT_HELLO: i32 = 2 + 32 + 1 + 32 + 2 + 65534 + 1 + 255 + 2 + 65535;
/** Smallest ClientHello body: one cipher suite, one compression method, no extensions. */
const MIN_CLIENT_HELLO: i32 = 2 + 32 + 1 + 2 + 2 + 1 + 1;
const MAX_SERVER_HELLO: i32 = 2 + 32 + 1 + 32 + 2 + 1 + 2 + 65535;
const MIN_SERVER_HELLO: i32 = 2 + 32 + 1 + 2 + 1;

// record types
const REC_CCS = 20;
const REC_ALERT = 21;
const REC_HANDSHAKE = 22;
const REC_APPDATA = 23;
const REC_HEARTBEAT = 24;

// extension types
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

// Hello states. Integer fields (their width in widthOf) read big-endian into `acc`:
const H_TYPE = 1; // 1: handshake message type
const H_LEN = 2; // 3: message length
const H_VERSION = 3; // 2: legacy_version
const H_SID_LEN = 4; // 1
const H_CS_LEN = 5; // 2 (client: cipher_suites length)
const H_CS = 6; // 2 (server: cipher_suite)
const H_COMP_LEN = 7; // 1 (client: compression_methods length)
const H_COMP = 8; // 1 (server: compression_method)
const H_EXTS_LEN = 9; // 2
const H_EXT_TYPE = 10; // 2
const H_EXT_LEN = 11; // 2
const H_SNI_LIST_LEN = 12; // 2
const H_SNI_TYPE = 13; // 1
const H_SNI_LEN = 14; // 2
const H_ALPN_LIST_LEN = 15; // 2
const H_ALPN_LEN = 16; // 1
const H_SV_LEN = 17; // 1 (client: supported_versions length)
const H_SV = 18; // 2 (client: one offered version; server: the selected one)
// byte states:
const H_SKIP = 20; // `skip` bytes, then `after`
const H_RANDOM = 21; // the server's random, compared with the HelloRetryRequest value
const H_SNI_NAME = 22; // the host_name, kept
const H_ALPN_NAME = 23; // the first protocol, kept
/** The hello is complete; the rest of the direction is read as record headers only. */
const H_DONE = 24;

// Points between fields (no bytes), handled by `enter`:
const P_AFTER_RANDOM = 30;
const P_AFTER_SID = 31;
const P_AFTER_CS = 32;
const P_AFTER_COMP = 33;
const P_EXT_NEXT = 34;
const P_SNI_NEXT = 35;
const P_ALPN_NEXT = 36;
const P_SV_NEXT = 37;

function widthOf(state: i32): i32 {
  switch (state) {
    case H_LEN:
      return 3;
    case H_VERSION:
    case H_CS_LEN:
    case H_CS:
    case H_EXTS_LEN:
    case H_EXT_TYPE:
    case H_EXT_LEN:
    case H_SNI_LIST_LEN:
    case H_SNI_LEN:
    case H_ALPN_LIST_LEN:
    case H_SV:
      return 2;
    default:
      return 1;
  }
}

/** RFC 8446 §4.1.3: the random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
function hrrRandomByte(i: i32): i32 {
  // cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c, as two u64 per half
  let word: u64 = i < 8 ? 0xcf21ad74e59a6111 : i < 16 ? 0xbe1d8c021e65b891 : i < 24 ? 0xc2a211167abb8c5e : 0x079e09e2c8a8339c;
  return <i32>((word >> <u64>(8 * (7 - (i & 7)))) & 0xff);
}

/** GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa. */
function isGrease(v: i32): bool {
  return (v & 0x0f0f) == 0x0a0a && v >> 8 == (v & 0xff);
}

/** One direction's reading state. */
class Side {
  /** Client to server (the ClientHello side). */
  client: bool;
  // ---- record layer
  /** Header bytes of the current record read so far (5: in its payload). */
  hdrPos: i32 = 0;
  recType: i32 = 0;
  recLength: i32 = 0;
  /** Payload bytes of the current record still to come. */
  remaining: i32 = 0;
  /** Records whose header was read whole and accepted. */
  records: i32 = 0;
  alertLevel: i32 = -1;
  alertDescription: i32 = -1;
  // ---- hello
  /** Handshake payload still goes to the hello parser (false once the final hello is read). */
  helloActive: bool = true;
  /** A hello message is partly read (another record type may not come in between). */
  inMessage: bool = false;
  /** Hello messages begun in this direction. */
  messages: i32 = 0;
  st: i32 = H_TYPE;
  width: i32 = 1;
  got: i32 = 0;
  acc: i32 = 0;
  /** Offset in the current message body; the ends below are offsets too. */
  pos: i32 = 0;
  msgEnd: i32 = 0;
  extsEnd: i32 = 0;
  extEnd: i32 = 0;
  listEnd: i32 = 0;
  itemEnd: i32 = 0;
  skip: i32 = 0;
  after: i32 = 0;
  extType: i32 = 0;
  sniType: i32 = 0;
  hrrMatch: bool = true;
  seenSni: bool = false;
  seenAlpn: bool = false;
  seenVersions: bool = false;
  selected: i32 = 0;
  legacy: i32 = 0;

  constructor(client: bool) {
    this.client = client;
  }

  /** Back to the start of a connection. */
  reset(): void {
    this.hdrPos = 0;
    this.recType = 0;
    this.recLength = 0;
    this.remaining = 0;
    this.records = 0;
    this.alertLevel = -1;
    this.alertDescription = -1;
    this.helloActive = true;
    this.messages = 0;
    this.msgEnd = 0;
    this.extsEnd = 0;
    this.extEnd = 0;
    this.listEnd = 0;
    this.itemEnd = 0;
    this.skip = 0;
    this.after = 0;
    this.extType = 0;
    this.sniType = 0;
    this.legacy = 0;
    this.resetMessage();
  }

  /** Ready for a new hello message (the ServerHello after a HelloRetryRequest). */
  resetMessage(): void {
    this.inMessage = false;
    this.st = H_TYPE;
    this.width = 1;
    this.got = 0;
    this.acc = 0;
    this.pos = 0;
    this.hrrMatch = true;
    this.seenSni = false;
    this.seenAlpn = false;
    this.seenVersions = false;
    this.selected = 0;
  }
}

export class TlsHelloDecoder {
  // ---- results
  event: TlsEvent = TlsEvent.None;
  /** Why the decoder stopped (TlsError.None while it reads). */
  error: TlsError = TlsError.None;
  /** The stop was in the server's bytes. */
  errorFromServer: bool = false;

  /** The ClientHello had a server_name extension with a host_name. */
  hasSni: bool = false;
  /** server_name host_name bytes, the first `sniLength` of them (at most SNI_BYTES). */
  sni: Uint8Array = new Uint8Array(SNI_BYTES);
  sniLength: i32 = 0;
  /** The host_name was longer than SNI_BYTES: `sni` holds its start. */
  sniTooLong: bool = false;

  /** The ClientHello had an ALPN extension. */
  hasAlpn: bool = false;
  /** The first ALPN protocol's bytes, the first `alpnLength` of them (at most ALPN_BYTES). */
  alpn: Uint8Array = new Uint8Array(ALPN_BYTES);
  alpnLength: i32 = 0;
  alpnTooLong: bool = false;
  /** ALPN protocols offered. */
  alpnCount: i32 = 0;

  /** The ClientHello's legacy_version (0x0301 = TLS 1.0 ... 0x0303 = TLS 1.2). */
  clientVersion: i32 = 0;
  /** The highest version offered: supported_versions when present (GREASE ignored; known versions before unknown ones), else legacy_version. */
  offeredVersion: i32 = 0;
  /** The ClientHello had supported_versions. */
  hasSupportedVersions: bool = false;

  /** The version the ServerHello chose (0x0304 = TLS 1.3, from supported_versions; else its legacy_version). */
  version: i32 = 0;
  /** The ServerHello's cipher suite. */
  cipherSuite: i32 = 0;
  /** A HelloRetryRequest came before the ServerHello. */
  helloRetry: bool = false;

  /** The last alert's level (1 warning, 2 fatal) and description; -1 when the record was not a 2-byte plaintext alert. */
  alertLevel: i32 = -1;
  alertDescription: i32 = -1;
  /** Alert records seen, both directions. */
  alerts: i32 = 0;

  // ---- state
  private c: Side = new Side(true);
  private s: Side = new Side(false);
  private isStopped: bool = false;
  private clientStarted: bool = false;
  private clientDone: bool = false;
  private serverDone: bool = false;
  private secondFlight: bool = false;
  private maxKnown: i32 = 0;
  private maxOther: i32 = 0;

  /** True once reading has stopped (after NotTls, Malformed or `stop()`): bytes pass unread. */
  get stopped(): bool {
    return this.isStopped;
  }

  get clientHelloDone(): bool {
    return this.clientDone;
  }

  /** The final ServerHello has been read (not a HelloRetryRequest). */
  get serverHelloDone(): bool {
    return this.serverDone;
  }

  /** The client's second flight has begun (ClientSecondFlight was reported). */
  get clientSecondFlight(): bool {
    return this.secondFlight;
  }

  /**
   * The client has sent bytes, reading has not stopped, and the final
   * ServerHello has not been read: a connection ending now ended mid-handshake.
   */
  get handshakeIncomplete(): bool {
    return this.clientStarted && !this.serverDone && !this.isStopped;
  }

  /** Stops reading: every further byte passes unread. */
  stop(): void {
    this.isStopped = true;
  }

  /** The client's bytes so far end at a record boundary (no record is partly read). */
  get clientBetweenRecords(): bool {
    return this.c.hdrPos == 0;
  }

  /** Back to the state of a new connection (the SNI and ALPN buffers are kept). */
  reset(): void {
    this.event = TlsEvent.None;
    this.error = TlsError.None;
    this.errorFromServer = false;
    this.hasSni = false;
    this.sniLength = 0;
    this.sniTooLong = false;
    this.hasAlpn = false;
    this.alpnLength = 0;
    this.alpnTooLong = false;
    this.alpnCount = 0;
    this.clientVersion = 0;
    this.offeredVersion = 0;
    this.hasSupportedVersions = false;
    this.version = 0;
    this.cipherSuite = 0;
    this.helloRetry = false;
    this.alertLevel = -1;
    this.alertDescription = -1;
    this.alerts = 0;
    this.c.reset();
    this.s.reset();
    this.isStopped = false;
    this.clientStarted = false;
    this.clientDone = false;
    this.serverDone = false;
    this.secondFlight = false;
    this.maxKnown = 0;
    this.maxOther = 0;
  }

  // A call that stops the decoder (NotTls, Malformed) returns right after the
  // offending byte, so the count is the same for any split; every later call
  // consumes all it is given.

  /** Client-to-server bytes: consumes until one event or the end; returns the count consumed. */
  client(ptr: usize, len: i32): i32 {
    if (len > 0) this.clientStarted = true;
    return this.consume(this.c, ptr, len);
  }

  /** Server-to-client bytes: consumes until one event or the end; returns the count consumed. */
  server(ptr: usize, len: i32): i32 {
    return this.consume(this.s, ptr, len);
  }

  // ------------------------------------------------------------ record layer

  private consume(d: Side, ptr: usize, len: i32): i32 {
    this.event = TlsEvent.None;
    if (this.isStopped) return len;
    let i = 0;
    while (i < len) {
      if (d.hdrPos < 5) {
        this.header(d, <i32>load<u8>(ptr + <usize>i));
        i++;
        if (this.event != TlsEvent.None) return i;
        continue;
      }
      let n = len - i;
      if (n > d.remaining) n = d.remaining;
      let type = d.recType;
      if (type == REC_HANDSHAKE && d.helloActive) {
        n = this.hello(d, ptr + <usize>i, n);
        if (this.isStopped) return i + n;
      } else if (type == REC_ALERT) {
        let at = d.recLength - d.remaining;
        for (let k = 0; k < n && at + k < 2; k++) {
          let b = <i32>load<u8>(ptr + <usize>(i + k));
          if (at + k == 0) d.alertLevel = b;
          else d.alertDescription = b;
        }
      }
      i += n;
      d.remaining -= n;
      if (d.remaining == 0) {
        d.hdrPos = 0;
        this.recordEnd(d);
      }
      if (this.event != TlsEvent.None) return i;
    }
    return i;
  }

  /** One record header byte. */
  private header(d: Side, b: i32): void {
    let at = d.hdrPos++;
    // The direction's first record decides whether this is TLS at all.
    let first = d.records == 0;
    if (at == 0) {
      d.recType = b;
      if (b < REC_CCS || b > REC_HEARTBEAT) {
        this.fail(d, TlsError.RecordType, first);
        return;
      }
      if (d.inMessage && b != REC_HANDSHAKE) {
        this.fail(d, TlsError.Interleaved, false);
        return;
      }
      if (d.helloActive) {
        // before the hello: the client sends handshake and alert records only; the
        // server may also send change_cipher_spec (after a HelloRetryRequest, RFC 8446 §5.1)
        let allowed = b == REC_HANDSHAKE || b == REC_ALERT || (!d.client && b == REC_CCS && !first);
        if (!allowed) {
          this.fail(d, TlsError.RecordType, first);
          return;
        }
      }
    } else if (at == 1) {
      if (b != 3) {
        this.fail(d, TlsError.RecordVersion, first);
        return;
      }
    } else if (at == 3) {
      d.recLength = b << 8;
    } else if (at == 4) {
      let length = d.recLength | b;
      d.recLength = length;
      if (length > MAX_RECORD_LENGTH) {
        this.fail(d, TlsError.RecordLength, first);
        return;
      }
      let type = d.recType;
      // RFC 5246 §6.2.1, RFC 8446 §5.1: no empty handshake, alert or change_cipher_spec records
      if (length == 0 && type != REC_APPDATA && type != REC_HEARTBEAT) {
        this.fail(d, TlsError.RecordLength, false);
        return;
      }
      d.records++;
      d.remaining = length;
      d.alertLevel = -1;
      d.alertDescription = -1;
      if (d.client && this.serverDone && !this.secondFlight) {
        this.secondFlight = true;
        this.event = TlsEvent.ClientSecondFlight;
      }
      if (length == 0) d.hdrPos = 0; // an empty application-data or heartbeat record: nothing to read
    }
  }

  private recordEnd(d: Side): void {
    if (d.recType == REC_ALERT) {
      this.alerts++;
      let plain = d.recLength == 2;
      this.alertLevel = plain ? d.alertLevel : -1;
      this.alertDescription = plain ? d.alertDescription : -1;
      this.event = TlsEvent.Alert;
    }
  }

  /** Stops with NotTls (this direction's first bytes are not TLS) or Malformed. */
  private fail(d: Side, error: TlsError, notTls: bool): void {
    this.error = error;
    this.errorFromServer = !d.client;
    this.event = notTls ? TlsEvent.NotTls : TlsEvent.Malformed;
    this.isStopped = true;
  }

  // ------------------------------------------------------------ hello

  /** Up to `n` handshake payload bytes (all inside the current record); returns the count consumed. */
  private hello(d: Side, ptr: usize, n: i32): i32 {
    let i = 0;
    while (i < n) {
      let st = d.st;
      if (st == H_DONE) return n; // the rest of the record is not read
      if (st == H_SKIP) {
        let take = n - i;
        if (take > d.skip) take = d.skip;
        i += take;
        d.pos += take;
        d.skip -= take;
        if (d.skip == 0) this.enter(d, d.after);
      } else {
        let b = <i32>load<u8>(ptr + <usize>i);
        i++;
        let off = d.pos++;
        if (st == H_RANDOM) {
          if (b != hrrRandomByte(off - 2)) d.hrrMatch = false;
          if (off == 2 + 31) this.enter(d, P_AFTER_RANDOM);
        } else if (st == H_SNI_NAME) {
          let k = this.sniLength;
          if (k < SNI_BYTES) {
            this.sni[k] = <u8>b;
            this.sniLength = k + 1;
          } else this.sniTooLong = true;
          if (d.pos == d.itemEnd) this.enter(d, P_SNI_NEXT);
        } else if (st == H_ALPN_NAME) {
          let k = this.alpnLength;
          if (k < ALPN_BYTES) {
            this.alpn[k] = <u8>b;
            this.alpnLength = k + 1;
          } else this.alpnTooLong = true;
          if (d.pos == d.itemEnd) this.enter(d, P_ALPN_NEXT);
        } else {
          d.acc = (d.acc << 8) | b;
          if (++d.got == d.width) this.field(d, st, d.acc);
        }
      }
      if (this.isStopped || this.event != TlsEvent.None) return i;
    }
    return i;
  }

  /** Starts an integer field of `state`'s width, which must fit before `limit`. */
  private int(d: Side, state: i32, limit: i32): void {
    let w = widthOf(state);
    if (d.pos + w > limit) {
      this.fail(d, TlsError.Length, false);
      return;
    }
    d.st = state;
    d.width = w;
    d.got = 0;
    d.acc = 0;
  }

  /** Skips `count` bytes (which must fit before `limit`), then enters `after`. */
  private skipThen(d: Side, count: i32, limit: i32, after: i32): void {
    if (d.pos + count > limit) {
      this.fail(d, TlsError.Length, false);
      return;
    }
    if (count == 0) {
      this.enter(d, after);
      return;
    }
    d.st = H_SKIP;
    d.skip = count;
    d.after = after;
  }

  /** Moves on at a point between fields. */
  private enter(d: Side, point: i32): void {
    switch (point) {
      case P_AFTER_RANDOM:
        this.int(d, H_SID_LEN, d.msgEnd);
        return;
      case P_AFTER_SID:
        this.int(d, d.client ? H_CS_LEN : H_CS, d.msgEnd);
        return;
      case P_AFTER_CS:
        this.int(d, d.client ? H_COMP_LEN : H_COMP, d.msgEnd);
        return;
      case P_AFTER_COMP:
        // extensions are optional in TLS 1.2 and earlier (RFC 5246 §7.4.1.2)
        if (d.pos == d.msgEnd) {
          this.done(d);
          return;
        }
        this.int(d, H_EXTS_LEN, d.msgEnd);
        return;
      case P_EXT_NEXT:
        if (d.pos == d.extsEnd) {
          this.done(d);
          return;
        }
        this.int(d, H_EXT_TYPE, d.extsEnd);
        return;
      case P_SNI_NEXT:
        if (d.pos == d.listEnd) {
          this.enter(d, P_EXT_NEXT);
          return;
        }
        this.int(d, H_SNI_TYPE, d.listEnd);
        return;
      case P_ALPN_NEXT:
        if (d.pos == d.listEnd) {
          this.enter(d, P_EXT_NEXT);
          return;
        }
        this.int(d, H_ALPN_LEN, d.listEnd);
        return;
      case P_SV_NEXT:
        if (d.pos == d.listEnd) {
          this.enter(d, P_EXT_NEXT);
          return;
        }
        this.int(d, H_SV, d.listEnd);
        return;
    }
  }

  /** An integer field `st` has been read whole: its value is `v`. */
  private field(d: Side, st: i32, v: i32): void {
    switch (st) {
      case H_TYPE: {
        let expected = d.client ? 1 : 2;
        if (v != expected) {
          // the client's first handshake message must be a ClientHello, or this is not a TLS client
          this.fail(d, TlsError.HandshakeType, d.client && d.messages == 0 && d.records == 1);
          return;
        }
        d.messages++;
        d.inMessage = true;
        d.pos = 0;
        this.int(d, H_LEN, 3);
        return;
      }
      case H_LEN: {
        let lo = d.client ? MIN_CLIENT_HELLO : MIN_SERVER_HELLO;
        let hi = d.client ? MAX_CLIENT_HELLO : MAX_SERVER_HELLO;
        if (v < lo || v > hi) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        d.msgEnd = v;
        d.pos = 0;
        this.int(d, H_VERSION, v);
        return;
      }
      case H_VERSION: {
        if (v >> 8 != 3) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        d.legacy = v;
        if (d.client) {
          this.skipThen(d, 32, d.msgEnd, P_AFTER_RANDOM);
          return;
        }
        d.st = H_RANDOM;
        return;
      }
      case H_SID_LEN: {
        if (v > 32) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        this.skipThen(d, v, d.msgEnd, P_AFTER_SID);
        return;
      }
      case H_CS_LEN: {
        if (v < 2 || (v & 1) != 0) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        this.skipThen(d, v, d.msgEnd, P_AFTER_CS);
        return;
      }
      case H_CS: {
        d.selected = 0;
        this.cipherSuite = v;
        this.enter(d, P_AFTER_CS);
        return;
      }
      case H_COMP_LEN: {
        if (v < 1) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        this.skipThen(d, v, d.msgEnd, P_AFTER_COMP);
        return;
      }
      case H_COMP:
        this.enter(d, P_AFTER_COMP);
        return;
      case H_EXTS_LEN: {
        if (d.pos + v != d.msgEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        d.extsEnd = d.msgEnd;
        this.enter(d, P_EXT_NEXT);
        return;
      }
      case H_EXT_TYPE: {
        d.extType = v;
        this.int(d, H_EXT_LEN, d.extsEnd);
        return;
      }
      case H_EXT_LEN:
        this.extension(d, v);
        return;
      case H_SNI_LIST_LEN: {
        if (v == 0 || d.pos + v != d.extEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        d.listEnd = d.extEnd;
        this.enter(d, P_SNI_NEXT);
        return;
      }
      case H_SNI_TYPE: {
        d.sniType = v;
        this.int(d, H_SNI_LEN, d.listEnd);
        return;
      }
      case H_SNI_LEN: {
        if (v == 0) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        if (d.pos + v > d.listEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        if (d.sniType == 0 && !this.hasSni) {
          // the first host_name (RFC 6066 allows one per type)
          this.hasSni = true;
          d.itemEnd = d.pos + v;
          d.st = H_SNI_NAME;
          return;
        }
        this.skipThen(d, v, d.listEnd, P_SNI_NEXT);
        return;
      }
      case H_ALPN_LIST_LEN: {
        if (v < 2 || d.pos + v != d.extEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        d.listEnd = d.extEnd;
        this.enter(d, P_ALPN_NEXT);
        return;
      }
      case H_ALPN_LEN: {
        if (v == 0) {
          this.fail(d, TlsError.Value, false);
          return;
        }
        if (d.pos + v > d.listEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        if (++this.alpnCount == 1) {
          d.itemEnd = d.pos + v;
          d.st = H_ALPN_NAME;
          return;
        }
        this.skipThen(d, v, d.listEnd, P_ALPN_NEXT);
        return;
      }
      case H_SV_LEN: {
        if (v < 2 || (v & 1) != 0 || d.pos + v != d.extEnd) {
          this.fail(d, TlsError.Length, false);
          return;
        }
        d.listEnd = d.extEnd;
        this.enter(d, P_SV_NEXT);
        return;
      }
      case H_SV: {
        if (!d.client) {
          d.selected = v;
          this.enter(d, P_EXT_NEXT);
          return;
        }
        if (v >= 0x0300 && v <= 0x0304) {
          if (v > this.maxKnown) this.maxKnown = v;
        } else if (!isGrease(v) && v > this.maxOther) this.maxOther = v;
        this.enter(d, P_SV_NEXT);
        return;
      }
    }
  }

  /** An extension's length `v` has been read (its type is `d.extType`). */
  private extension(d: Side, v: i32): void {
    if (d.pos + v > d.extsEnd) {
      this.fail(d, TlsError.Length, false);
      return;
    }
    d.extEnd = d.pos + v;
    let type = d.extType;
    if (type == EXT_SUPPORTED_VERSIONS) {
      if (d.seenVersions) {
        this.fail(d, TlsError.Duplicate, false);
        return;
      }
      d.seenVersions = true;
      if (d.client) {
        this.hasSupportedVersions = true;
        this.int(d, H_SV_LEN, d.extEnd);
        return;
      }
      if (v != 2) {
        this.fail(d, TlsError.Length, false);
        return;
      }
      this.int(d, H_SV, d.extEnd);
      return;
    }
    if (d.client && type == EXT_SERVER_NAME) {
      if (d.seenSni) {
        this.fail(d, TlsError.Duplicate, false);
        return;
      }
      d.seenSni = true;
      this.int(d, H_SNI_LIST_LEN, d.extEnd);
      return;
    }
    if (d.client && type == EXT_ALPN) {
      if (d.seenAlpn) {
        this.fail(d, TlsError.Duplicate, false);
        return;
      }
      d.seenAlpn = true;
      this.hasAlpn = true;
      this.int(d, H_ALPN_LIST_LEN, d.extEnd);
      return;
    }
    this.skipThen(d, v, d.extsEnd, P_EXT_NEXT);
    return;
  }

  /** The hello message ended exactly at its length. */
  private done(d: Side): void {
    d.inMessage = false;
    if (d.client) {
      d.st = H_DONE;
      d.helloActive = false;
      this.clientDone = true;
      this.clientVersion = d.legacy;
      this.offeredVersion = this.hasSupportedVersions ? (this.maxKnown != 0 ? this.maxKnown : this.maxOther) : d.legacy;
      this.event = TlsEvent.ClientHello;
      return;
    }
    this.version = d.selected != 0 ? d.selected : d.legacy;
    if (d.hrrMatch) {
      if (this.helloRetry) {
        this.fail(d, TlsError.SecondRetry, false);
        return;
      }
      this.helloRetry = true;
      // the ServerHello comes next, in a later record or (never in practice) in this one
      d.resetMessage();
      this.event = TlsEvent.HelloRetryRequest;
      return;
    }
    d.st = H_DONE;
    d.helloActive = false;
    this.serverDone = true;
    this.event = TlsEvent.ServerHello;
  }
}
