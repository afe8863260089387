package app

import (
	"context"

	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/provider"
	"github.com/gitbook-login/lambda-oauth/shared/secret"
)

// newSecretFunc returns where the client secret comes from: the plain
// variable for local runs, or Secrets Manager through a refreshing cache.
// Nothing is fetched here; the first token exchange fetches the secret.
func newSecretFunc(ctx context.Context, cfg config.Config, shared *awsConfig) (provider.SecretFunc, error) {
	if cfg.ClientSecretARN == "" {
		value := cfg.ClientSecret
		return func(context.Context) (string, error) { return value, nil }, nil
	}

	loaded, err := shared.load(ctx)
	if err != nil {
		return nil, err
	}
	client, err := secret.NewSecretsManagerClientFromConfig(loaded, cfg.SecretsEndpoint)
	if err != nil {
		return nil, err
	}
	source := secret.NewSource(client, cfg.ClientSecretARN, cfg.ClientSecretField, secret.DefaultRefresh)
	return source.Get, nil
}
