// Command load runs a bounded load test of the local server (cmd/dev: every
// route through the Lambda handler code, the embedded DynamoDB-compatible
// store and the sandbox provider) on 127.0.0.1, and prints throughput and
// latency percentiles per route.
//
// Virtual visitors log in (authorize, the sandbox consent page, callback),
// read their account a few times and log out, over and over, until -logins
// logins have started or -duration has passed, whichever comes first. The
// server runs in its own process, started and stopped by this command.
//
// Run it from the module root; make bench does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	visitors := flag.Int("visitors", 16, "concurrent virtual visitors")
	logins := flag.Int("logins", 2000, "stop after this many logins have started")
	duration := flag.Duration("duration", 60*time.Second, "stop after this long")
	accounts := flag.Int("accounts", 3, "account requests per login")
	dynamodb := flag.String("dynamodb", "", "DYNAMODB_ENDPOINT for the server; empty means its embedded store")
	workDir := flag.String("dir", "build/load", "folder for the server binary")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()

	if *visitors < 1 || *visitors > 256 || *logins < 1 || *logins > 5000 || *accounts < 0 || *accounts > 20 {
		return fmt.Errorf("want 1 to 256 -visitors, 1 to 5000 -logins and 0 to 20 -accounts")
	}
	if *duration <= 0 || *duration > 10*time.Minute {
		return fmt.Errorf("-duration %s: want more than 0 and at most 10m", *duration)
	}

	srv, err := startServer(*workDir, *dynamodb)
	if err != nil {
		return err
	}
	defer srv.stop()

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()

	plan := plan{visitors: *visitors, logins: *logins, accounts: *accounts}
	results := runLoad(ctx, srv, plan)
	results.ServerLogLines = srv.requestLines()

	results.print(os.Stdout, plan, *dynamodb)
	if *jsonOut != "" {
		data, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
	}
	return nil
}
