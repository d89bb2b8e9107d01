// The protocols the network filter decodes, by the `protocol` name of the
// plugin configuration. A new protocol is one decoder file (see decoder.ts)
// and one line in PROTOCOLS.

import { Decoder } from "./decoder";
import { FooDecoder } from "./foo";
import { Http1Decoder } from "./http1";
import { TLS_PROTOCOL, TlsDecoder } from "./tls";

export enum EndpointKind {
  None = 0,
  Path = 1,
  ServerName = 2,
}

export class Protocol {
  constructor(
    /** The `protocol` value in the plugin configuration. */
    public name: string,
    /** Its responses can be replaced by the custom 404 page (`custom_404` is refused otherwise). */
    public customPages: bool,
    /** What its endpoint label is: a path (`endpoints.collapse` applies), a server name, or nothing (`endpoints` is refused). */
    public endpoints: EndpointKind,
    /** A new decoder for one connection. */
    public newDecoder: () => Decoder,
  ) {}
}

/** Every protocol sitio decodes; the first is the default. */
export const PROTOCOLS: Protocol[] = [
  new Protocol("http1", true, EndpointKind.Path, (): Decoder => new Http1Decoder()),
  new Protocol("foo", false, EndpointKind.None, (): Decoder => new FooDecoder()),
  new Protocol(TLS_PROTOCOL, false, EndpointKind.ServerName, (): Decoder => new TlsDecoder()),
];

/** The protocol named `name`, or null. */
export function protocolNamed(name: string): Protocol | null {
  for (let i = 0; i < PROTOCOLS.length; i++) {
    if (unchecked(PROTOCOLS[i]).name == name) return unchecked(PROTOCOLS[i]);
  }
  return null;
}
