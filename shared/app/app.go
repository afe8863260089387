// Package app builds the handler from the configuration: the one place that
// decides which store, sealer and secret source a configuration selects. Every
// function's main.go and the local runner call it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	shared := &awsConfig{region: cfg.AWSRegion}

	db, err := newDynamoDB(ctx, cfg, shared)
	if err != nil {
		return nil, nil, err
	}
	st := store.New(db, cfg.TableName)

	sealer, err := newSealer(ctx, cfg, shared)
	if err != nil {
		return nil, nil, err
	}

	secret, err := newSecretFunc(ctx, cfg, shared)
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

func newDynamoDB(ctx context.Context, cfg config.Config, shared *awsConfig) (*dynamodb.Client, error) {
	if store.UsesLocalClient(cfg.DynamoDBEndpoint) {
		return store.NewLocalClient(cfg.DynamoDBEndpoint)
	}
	loaded, err := shared.load(ctx)
	if err != nil {
		return nil, err
	}
	return store.NewClientFromConfig(loaded, cfg.DynamoDBEndpoint)
}

func newSealer(ctx context.Context, cfg config.Config, shared *awsConfig) (seal.Sealer, error) {
	if cfg.KMSKeyID == "" {
		return seal.NewLocal(cfg.TokenEncryptionKey)
	}
	loaded, err := shared.load(ctx)
	if err != nil {
		return nil, err
	}
	client, err := seal.NewKMSClientFromConfig(loaded, cfg.KMSEndpoint)
	if err != nil {
		return nil, err
	}
	return seal.NewKMS(client, cfg.KMSKeyID, seal.KMSOptions{}), nil
}

// awsConfig loads the default AWS configuration at most once, because each
// load reads the environment and shared config files again, and cold start
// time counts. Loading makes no network call.
type awsConfig struct {
	region string
	loaded *aws.Config
}

func (a *awsConfig) load(ctx context.Context) (aws.Config, error) {
	if a.loaded != nil {
		return *a.loaded, nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if a.region != "" {
		opts = append(opts, awsconfig.WithRegion(a.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	a.loaded = &cfg
	return cfg, nil
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
	// The store and the secret source log their rare warnings through the
	// default logger; this makes those JSON lines too, at LOG_LEVEL.
	slog.SetDefault(logger)
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
