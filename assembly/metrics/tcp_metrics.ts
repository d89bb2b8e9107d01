// The network filter's metrics for one plugin (one listener) in one VM: the
// one place where decoder events become series. Defined once, looked up
// without building strings on the data path.
//
// When a figure reaches Envoy:
// - requests, responses, durations, 404 rewrites and the error counters:
//   at once, so a scrape taken after a response always includes it;
// - connections, active connections, bytes and unparsed bytes: counted in the
//   VM and published at each tick (1 s) and when the plugin goes away (a VM
//   that crashes loses at most its last second of them);
// - the rate windows and the VM's memory: at each tick.

import { incrementMetric, recordMetric } from "../abi/host";
import { Config } from "../config/config";
import { Decoder } from "../codec/decoder";
import { ExchangeFamilies, familiesOf } from "./exchange_families";
import { CandidateRing, NO_TICKET } from "../labels/candidate_ring";
import { CollapseRules, ENDPOINT_BUFFER_BYTES } from "../labels/endpoints";
import { EndpointTable } from "../labels/endpoint_table";
import { OTHER } from "../labels/label_values";
import {
  TCP_ACTIVE_CONNECTIONS,
  TCP_CONNECTIONS_TOTAL,
  TCP_CUSTOM_404_TOTAL,
  TCP_DUPLICATE_REQUESTS_TOTAL,
  TCP_MALFORMED_MESSAGES_TOTAL,
  TCP_REQUESTS_LAST_10S,
  TCP_REQUESTS_LAST_1S,
  TCP_RESPONSES_LAST_10S,
  TCP_RESPONSES_LAST_1S,
  TCP_RX_BYTES_TOTAL,
  TCP_TX_BYTES_TOTAL,
  TCP_UNMATCHED_RESPONSES_TOTAL,
  TCP_UNPARSED_BYTES_TOTAL,
  TCP_UNTIMED_REQUESTS_TOTAL,
  MetricFamily,
} from "./metric_table";
import { RateWindow } from "./rate_window";
import { VmMemory } from "./vm_memory";

/** The series of one (method, endpoint) pair. */
export class EndpointSeries {
  /** Responses by status, when the protocol's responses are counted by endpoint (ExchangeFamilies). */
  statuses: StatusSeries[] = [];
  /** Connection bytes counted under this series, not yet published (when the protocol has such families). */
  pendingRx: i64 = 0;
  pendingTx: i64 = 0;
  rxBytes: u32 = 0;
  txBytes: u32 = 0;
  /** In the list of series with bytes to publish at the tick. */
  dirty: bool = false;

  constructor(
    public method: string,
    public endpoint: string,
    public requests: u32,
    public duration: u32,
  ) {}
}

/** The series of one endpoint, by method (a handful at most: methods are bounded labels). */
class SeriesByMethod {
  list: EndpointSeries[] = [];
}

/** A (status label, counter id) pair of `sitio_tcp_responses_total`. */
class StatusSeries {
  constructor(
    public status: string,
    public id: u32,
  ) {}
}

/** Where an endpoint label is written (the VM runs one callback at a time). */
const labelBuffer = new Uint8Array(ENDPOINT_BUFFER_BYTES);

export class TcpMetrics {
  /** The families this protocol's exchanges count in. */
  readonly families: ExchangeFamilies;
  private plugin: string;
  private connections: u32;
  private active: u32;
  private rxBytes: u32;
  private txBytes: u32;
  private unparsedBytes: u32;
  private unmatchedResponses: u32;
  private duplicateRequests: u32;
  private untimedRequests: u32;
  private malformedDownstream: u32;
  private malformedUpstream: u32;
  private custom404: u32;
  private requestRate: RateWindow;
  private responseRate: RateWindow;
  private memory: VmMemory;

  // ---- counted here, published at each tick
  private pendingConnections: i64 = 0;
  private pendingActive: i64 = 0;
  private pendingRx: i64 = 0;
  private pendingTx: i64 = 0;
  private pendingUnparsed: i64 = 0;

  // ---- endpoint labels
  private rules: CollapseRules;
  private endpoints: EndpointTable;
  private candidates: CandidateRing = new CandidateRing();
  /** By endpoint index (EndpointTable); null until a series of it is used. */
  private byEndpoint: Array<SeriesByMethod | null> = [];
  private other: SeriesByMethod = new SeriesByMethod();
  private noEndpoint: SeriesByMethod = new SeriesByMethod();
  private statuses: StatusSeries[] = [];
  private failures: StatusSeries[] = [];
  /** Series with connection bytes to publish at the tick. */
  private dirty: EndpointSeries[] = [];
  /** The method label of the last request `requestSeries` saw. */
  lastMethod: string = "";
  /** The candidate ticket of the last request `requestSeries` left awaiting admission. */
  ticket: u64 = NO_TICKET;

  constructor(rootId: string, plugin: string, config: Config) {
    this.plugin = plugin;
    this.families = familiesOf(config.protocol);
    let p = [plugin];
    this.connections = TCP_CONNECTIONS_TOTAL.series(p);
    this.active = TCP_ACTIVE_CONNECTIONS.series(p);
    this.rxBytes = TCP_RX_BYTES_TOTAL.series(p);
    this.txBytes = TCP_TX_BYTES_TOTAL.series(p);
    this.unparsedBytes = TCP_UNPARSED_BYTES_TOTAL.series(p);
    this.unmatchedResponses = TCP_UNMATCHED_RESPONSES_TOTAL.series(p);
    this.duplicateRequests = TCP_DUPLICATE_REQUESTS_TOTAL.series(p);
    this.untimedRequests = TCP_UNTIMED_REQUESTS_TOTAL.series(p);
    this.malformedDownstream = TCP_MALFORMED_MESSAGES_TOTAL.series(["downstream", plugin]);
    this.malformedUpstream = TCP_MALFORMED_MESSAGES_TOTAL.series(["upstream", plugin]);
    this.custom404 = TCP_CUSTOM_404_TOTAL.series(p);
    this.requestRate = new RateWindow(TCP_REQUESTS_LAST_1S.series(p), TCP_REQUESTS_LAST_10S.series(p));
    this.responseRate = new RateWindow(TCP_RESPONSES_LAST_1S.series(p), TCP_RESPONSES_LAST_10S.series(p));
    this.memory = new VmMemory(plugin);
    this.rules = collapseRules(config);
    this.endpoints = new EndpointTable(rootId + "/" + plugin, config.maxEndpoints);
  }

  /** A new configuration for the same plugin (series already defined stay as they are). */
  reconfigure(config: Config): void {
    this.rules = collapseRules(config);
    this.endpoints.reconfigure(config.maxEndpoints);
  }

  // ---------------------------------------------------------------- connections and bytes (published at ticks)

  connectionOpened(): void {
    this.pendingConnections++;
    this.pendingActive++;
  }

  connectionClosed(): void {
    this.pendingActive--;
  }

  received(bytes: i64): void {
    this.pendingRx += bytes;
  }

  sent(bytes: i64): void {
    this.pendingTx += bytes;
  }

  /** Client bytes passed through without being decoded. */
  unparsed(bytes: u64): void {
    this.pendingUnparsed += <i64>bytes;
  }

  /** proxy_on_tick (every second): publishes what was counted in the VM, moves the windows on. */
  tick(): void {
    this.publish();
    this.requestRate.tick();
    this.responseRate.tick();
    this.memory.report();
  }

  /** The plugin is going away: publishes what is left and takes its share out of the shared gauges. */
  close(): void {
    this.publish();
    this.requestRate.clear();
    this.responseRate.clear();
    this.memory.clear();
  }

  private publish(): void {
    if (this.pendingConnections != 0) incrementMetric(this.connections, this.pendingConnections);
    if (this.pendingActive != 0) incrementMetric(this.active, this.pendingActive);
    if (this.pendingRx != 0) incrementMetric(this.rxBytes, this.pendingRx);
    if (this.pendingTx != 0) incrementMetric(this.txBytes, this.pendingTx);
    if (this.pendingUnparsed != 0) incrementMetric(this.unparsedBytes, this.pendingUnparsed);
    this.pendingConnections = 0;
    this.pendingActive = 0;
    this.pendingRx = 0;
    this.pendingTx = 0;
    this.pendingUnparsed = 0;
    this.publishEndpointBytes();
  }

  // ---------------------------------------------------------------- requests and responses (at once)

  /**
   * The series of the request `d` just reported, or null when its endpoint is
   * not admitted yet: then `ticket` holds its candidate label, for
   * `admittedSeries` once the response says whether it gets in.
   */
  requestSeries(d: Decoder): EndpointSeries | null {
    let families = this.families;
    let method = families.methodLabel(d);
    this.lastMethod = method;
    this.ticket = NO_TICKET;
    if (!d.hasEndpoint) return this.seriesOf(this.noEndpoint, method, families.absentEndpoint);
    let len = families.endpointLabel(d, this.rules, labelBuffer);
    if (len < 0) return this.seriesOf(this.other, method, OTHER);
    let i = this.endpoints.find(labelBuffer, len);
    if (i >= 0) return this.endpointSeries(i, method);
    this.ticket = this.candidates.put(labelBuffer, len);
    return null;
  }

  /**
   * The series of a request whose endpoint awaited admission: `admits` says
   * whether its response is the evidence that lets the endpoint in (not a
   * 4xx); otherwise it counts under its endpoint only if another request
   * admitted it meanwhile, else under `other`.
   */
  admittedSeries(method: string, ticket: u64, admits: bool): EndpointSeries {
    let len = this.candidates.get(ticket, labelBuffer);
    if (len >= 0) {
      let i = admits ? this.endpoints.admit(labelBuffer, len) : this.endpoints.find(labelBuffer, len);
      if (i >= 0) return this.endpointSeries(i, method);
    }
    return this.seriesOf(this.other, method, OTHER);
  }

  /** Counts one request. */
  request(s: EndpointSeries): void {
    incrementMetric(s.requests, 1);
  }

  /** Counts a request in the rate windows (when it is decoded, whatever its series). */
  requestSeen(): void {
    this.requestRate.add();
  }

  /** Records a request's duration in microseconds: first request byte to last response byte. */
  duration(s: EndpointSeries, startNs: u64, endNs: u64): void {
    recordMetric(s.duration, endNs > startNs ? (endNs - startNs) / 1000 : 0);
  }

  /** Whether the response that just ended is evidence for its request's endpoint. */
  admits(d: Decoder): bool {
    return this.families.admits(d);
  }

  /** Counts one response of the decoder's, answering a request counted in `s` (null: none). */
  response(d: Decoder, s: EndpointSeries | null): void {
    let families = this.families;
    let status = families.statusLabel(d);
    if (!families.responsesByEndpoint) {
      incrementMetric(this.labelled(this.statuses, families.responses, status, ""), 1);
    } else {
      let endpoint = s !== null ? s.endpoint : OTHER;
      incrementMetric(this.labelled(s !== null ? s.statuses : this.statuses, families.responses, status, endpoint), 1);
    }
    this.responseRate.add();
  }

  /** Counts a failure the decoder reported (under its reason). */
  failure(d: Decoder): void {
    let family = this.families.failures;
    if (family !== null) incrementMetric(this.labelled(this.failures, family, this.families.failureLabel(d), ""), 1);
  }

  /** The id of the series of `family` with this one label (after `endpoint`, when not ""), found in or added to `list`. */
  private labelled(list: StatusSeries[], family: MetricFamily, label: string, endpoint: string): u32 {
    for (let i = 0; i < list.length; i++) {
      let s = unchecked(list[i]);
      if (s.status == label) return s.id;
    }
    let id = endpoint.length > 0 ? family.series([endpoint, label, this.plugin]) : family.series([label, this.plugin]);
    list.push(new StatusSeries(label, id));
    return id;
  }

  // ---------------------------------------------------------------- bytes by endpoint (published at the tick)

  /** The protocol counts each connection's bytes under the endpoint of its first exchange. */
  get bytesByEndpoint(): bool {
    return this.families.rxBytes !== null;
  }

  /** Counts a connection's bytes under `s` (client → upstream `rx`, upstream → client `tx`). */
  endpointBytes(s: EndpointSeries, rx: i64, tx: i64): void {
    if (rx == 0 && tx == 0) return;
    if (s.rxBytes == 0) {
      let values = [s.endpoint, this.plugin];
      s.rxBytes = this.families.rxBytes!.series(values);
      s.txBytes = this.families.txBytes!.series(values);
    }
    s.pendingRx += rx;
    s.pendingTx += tx;
    if (!s.dirty) {
      s.dirty = true;
      this.dirty.push(s);
    }
  }

  private publishEndpointBytes(): void {
    let list = this.dirty;
    for (let i = 0; i < list.length; i++) {
      let s = unchecked(list[i]);
      if (s.pendingRx != 0) incrementMetric(s.rxBytes, s.pendingRx);
      if (s.pendingTx != 0) incrementMetric(s.txBytes, s.pendingTx);
      s.pendingRx = 0;
      s.pendingTx = 0;
      s.dirty = false;
    }
    list.length = 0;
  }

  unmatchedResponse(): void {
    incrementMetric(this.unmatchedResponses, 1);
  }

  duplicateRequest(): void {
    incrementMetric(this.duplicateRequests, 1);
  }

  untimedRequest(): void {
    incrementMetric(this.untimedRequests, 1);
  }

  /** A message that broke the protocol; `downstream`: sent by the client. */
  malformed(downstream: bool): void {
    incrementMetric(downstream ? this.malformedDownstream : this.malformedUpstream, 1);
  }

  /** Upstream 404 responses replaced by the custom page. */
  replaced404(n: u32): void {
    if (n > 0) incrementMetric(this.custom404, n);
  }

  // ---------------------------------------------------------------- series look-up

  private endpointSeries(index: i32, method: string): EndpointSeries {
    let by = this.byEndpoint;
    while (by.length <= index) by.push(null);
    let list = unchecked(by[index]);
    if (list === null) {
      list = new SeriesByMethod();
      unchecked((by[index] = list));
    }
    return this.seriesOf(list, method, this.endpoints.label(index));
  }

  private seriesOf(by: SeriesByMethod, method: string, endpoint: string): EndpointSeries {
    let list = by.list;
    for (let i = 0; i < list.length; i++) {
      let s = unchecked(list[i]);
      if (s.method == method) return s;
    }
    let values = [method, endpoint, this.plugin];
    let families = this.families;
    let s = new EndpointSeries(method, endpoint, families.requests.series(values), families.duration.series(values));
    list.push(s);
    return s;
  }
}

/** The collapse rules of a configuration, as endpoints.ts reads them. */
export function collapseRules(config: Config): CollapseRules {
  return new CollapseRules(config.collapseNumbers, config.collapseUuids, Uint8Array.wrap(String.UTF8.encode(config.placeholder)));
}
