// A TLS client with Go's crypto/tls defaults, for sitio's tests: since Go 1.24
// its ClientHello offers the post-quantum hybrid X25519MLKEM768 key share
// (1,216 bytes) beside X25519, which makes the hello large (about 1.4 KB).
//
// Built by tests/harness/tls_clients.ts into build/test/tls_client (standard
// library only). One HTTPS GET; prints one JSON line: body, TLS version, ALPN
// protocol and key-exchange group, as the client saw them.
//
//	tls_client -addr 127.0.0.1:18443 [-servername localhost] [-alpn h2,http/1.1] [-path /] [-cafile build/tls/cert.pem]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18443", "host:port to connect to")
	serverName := flag.String("servername", "localhost", "SNI and certificate name (empty: no SNI, no verification)")
	alpn := flag.String("alpn", "h2,http/1.1", "ALPN protocols offered, comma-separated (empty: none)")
	path := flag.String("path", "/", "request path")
	caFile := flag.String("cafile", "", "PEM certificate to trust (empty: no verification)")
	flag.Parse()

	cfg := &tls.Config{ServerName: *serverName, InsecureSkipVerify: *caFile == ""}
	if *alpn != "" {
		cfg.NextProtos = strings.Split(*alpn, ",")
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail(err)
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		ForceAttemptHTTP2: true,
		TLSClientConfig:   cfg,
		// every request goes to -addr, whatever the URL's host (which names the server)
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, *addr)
		},
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	// An IP address as the URL's host: Go sends no SNI for it.
	host := *serverName
	if host == "" {
		host = "127.0.0.1"
	}
	resp, err := client.Get("https://" + host + *path)
	if err != nil {
		fail(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		fail(err)
	}
	state := resp.TLS
	out, _ := json.Marshal(map[string]any{
		"body":    string(body),
		"status":  resp.StatusCode,
		"http":    resp.Proto,
		"version": tls.VersionName(state.Version),
		"alpn":    state.NegotiatedProtocol,
		"group":   state.CurveID.String(),
	})
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tls_client:", err)
	os.Exit(1)
}
