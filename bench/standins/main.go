// Command standins serves the stand-ins of the handler benchmarks on
// 127.0.0.1: minidyn's DynamoDB protocol (the embedded store of the local
// runner) and the sandbox GitBook provider. They run in a process of their
// own, so the benchmark's B/op and allocs/op count only the handler's
// allocations.
//
// It prints one JSON line with both URLs and serves until its standard input
// closes, or until -max-lifetime passes, so a benchmark that dies does not
// leave it running. The client secret is read from SANDBOX_CLIENT_SECRET,
// so it shows in no process listing.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/truora/minidyn/server"

	"github.com/gitbook-login/lambda-oauth/shared/sandbox"
)

// Endpoints is the line the command prints once both servers listen.
type Endpoints struct {
	DynamoDB     string `json:"dynamodb"`
	AuthorizeURL string `json:"authorize_url"`
	TokenURL     string `json:"token_url"`
	AccountURL   string `json:"account_url"`
	RevokeURL    string `json:"revoke_url"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "standins:", err)
		os.Exit(1)
	}
}

func run() error {
	clientID := flag.String("client-id", "bench-client", "OAuth client id the sandbox registers")
	redirectURI := flag.String("redirect-uri", "", "redirect URI the sandbox registers (required)")
	maxLifetime := flag.Duration("max-lifetime", 30*time.Minute, "exit after this long even if standard input stays open")
	flag.Parse()

	secret := os.Getenv("SANDBOX_CLIENT_SECRET")
	if *redirectURI == "" || secret == "" {
		return errors.New("set -redirect-uri and SANDBOX_CLIENT_SECRET")
	}

	// benchmarks start many logins before finishing them, so the sandbox
	// keeps far more codes and tokens, for longer, than its defaults
	provider := sandbox.New(sandbox.Options{
		ClientID:     *clientID,
		ClientSecret: secret,
		RedirectURIs: []string{*redirectURI},
		CodeTTL:      30 * time.Minute,
		MaxCodes:     100_000,
		MaxTokens:    500_000,
	})

	dynamoURL, err := serve(server.NewServer())
	if err != nil {
		return err
	}
	providerURL, err := serve(provider)
	if err != nil {
		return err
	}

	ends := provider.Endpoints(providerURL)
	line, _ := json.Marshal(Endpoints{
		DynamoDB:     dynamoURL,
		AuthorizeURL: ends.AuthorizeURL,
		TokenURL:     ends.TokenURL,
		AccountURL:   ends.AccountURL,
		RevokeURL:    ends.RevokeURL,
	})
	fmt.Println(string(line))

	// serve until the parent closes standard input or the lifetime ends
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-time.After(*maxLifetime):
		fmt.Fprintln(os.Stderr, "standins: -max-lifetime reached, exiting")
	}
	return nil
}

// serve starts handler on a free port of 127.0.0.1 and returns its URL.
func serve(handler http.Handler) (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(listener) }()
	return "http://" + listener.Addr().String(), nil
}
