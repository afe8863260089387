// Package app builds the handler from the configuration: the one place that
// knows which store, sealer and secret source a configuration selects. Every
// function's main.go and the local runner call it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Build wires a Handler for cfg. It makes no network call: AWS clients
// resolve credentials and the client secret on first use, so a cold start
// pays only for what the first request needs.
func Build(ctx context.Context, cfg config.Config, logger *slog.Logger) (*handler.Handler, *store.Store, error) {
	db, err := store.NewClientFromEnv(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, nil, err
	}
	st := store.New(db, cfg.TableName)

	sealer, err := newSealer(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}

	secret, err := newSecretFunc(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}

	client := provider.New(provider.Config{
		ClientID:     cfg.ClientID,
		Secret:       secret,
		AuthorizeURL: cfg.AuthorizeURL,
		TokenURL:     cfg.TokenURL,
		AccountURL:   cfg.AccountURL,
		RevokeURL:    cfg.RevokeURL,
		RedirectURI:  cfg.RedirectURI,
		Scopes:       cfg.Scopes,
		Timeout:      cfg.UpstreamTimeout,
	})

	h := handler.New(handler.Deps{Config: cfg, Store: st, Sealer: sealer, Provider: client, Logger: logger})
	return h, st, nil
}

func newSealer(ctx context.Context, cfg config.Config) (seal.Sealer, error) {
	if cfg.KMSKeyID == "" {
		return seal.NewLocal(cfg.TokenEncryptionKey)
	}
	client, err := seal.NewKMSClient(ctx, cfg.KMSEndpoint, cfg.AWSRegion)
	if err != nil {
		return nil, err
	}
	return seal.NewKMS(client, cfg.KMSKeyID, seal.KMSOptions{}), nil
}

// Logger returns the JSON logger every function writes its request lines
// with; Lambda sends stdout to CloudWatch Logs.
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}

// Main is the body of every function's main: it loads the configuration,
// builds the handler and returns the route's handler. A bad configuration
// ends the init with one log line that names each problem.
func Main(route string) handler.Func {
	ctx := context.Background()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		Logger("info").Error("function init failed", "route", route, "error", err.Error())
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	logger := Logger(cfg.LogLevel)
	h, _, err := Build(ctx, cfg, logger)
	if err != nil {
		logger.Error("function init failed", "route", route, "error", err.Error())
		os.Exit(1)
	}
	for _, r := range h.Routes() {
		if r.Name == route {
			return r.Func
		}
	}
	logger.Error("function init failed", "route", route, "error", "no such route")
	os.Exit(1)
	return nil
}
