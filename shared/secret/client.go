package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// NewSecretsManagerClient builds a Secrets Manager client from the default
// AWS configuration (environment, shared files, then the Lambda or instance
// role). It makes no network call: credentials are resolved on the first
// request. A non-empty endpoint replaces the AWS endpoint, for local
// stand-ins; an empty region falls back to AWS_REGION, which Lambda sets.
func NewSecretsManagerClient(ctx context.Context, endpoint, region string,
	optFns ...func(*secretsmanager.Options),
) (*secretsmanager.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}

	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("secret: load AWS configuration for Secrets Manager: %w", err)
	}

	return NewSecretsManagerClientFromConfig(cfg, endpoint, optFns...)
}

// NewSecretsManagerClientFromConfig builds the client from an AWS configuration that is already
// loaded, so that the functions load it once for all their AWS clients.
func NewSecretsManagerClientFromConfig(cfg aws.Config, endpoint string, optFns ...func(*secretsmanager.Options)) (*secretsmanager.Client, error) {
	if cfg.Region == "" {
		return nil, errors.New("secret: no AWS region for Secrets Manager; set AWS_REGION")
	}

	endpointFn := func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}

	return secretsmanager.NewFromConfig(cfg, append([]func(*secretsmanager.Options){endpointFn}, optFns...)...), nil
}
