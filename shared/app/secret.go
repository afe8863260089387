package app

import (
	"context"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
)

// newSecretFunc returns where the client secret comes from: the plain
// variable for local runs, or Secrets Manager through a refreshing cache.
func newSecretFunc(ctx context.Context, cfg config.Config) (provider.SecretFunc, error) {
	if cfg.ClientSecretARN == "" {
		secret := cfg.ClientSecret
		return func(context.Context) (string, error) { return secret, nil }, nil
	}
	// TODO: wire the Secrets Manager source once shared/secret lands.
	secret := cfg.ClientSecret
	return func(context.Context) (string, error) { return secret, nil }, nil
}
