package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// NewKMSClient builds a KMS client from the default AWS configuration
// (environment, shared files, then the Lambda or instance role). It makes no
// network call: credentials are resolved on the first request. A non-empty
// endpoint (KMS_ENDPOINT) replaces the AWS endpoint, for local stand-ins; an
// empty region falls back to AWS_REGION, which Lambda sets.
func NewKMSClient(ctx context.Context, endpoint, region string, optFns ...func(*kms.Options)) (*kms.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}

	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("seal: load AWS configuration for KMS: %w", err)
	}

	return NewKMSClientFromConfig(cfg, endpoint, optFns...)
}

// NewKMSClientFromConfig builds the client from an AWS configuration that is already
// loaded, so that the functions load it once for all their AWS clients.
func NewKMSClientFromConfig(cfg aws.Config, endpoint string, optFns ...func(*kms.Options)) (*kms.Client, error) {
	if cfg.Region == "" {
		return nil, errors.New("seal: no AWS region for KMS; set AWS_REGION")
	}

	endpointFn := func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}

	return kms.NewFromConfig(cfg, append([]func(*kms.Options){endpointFn}, optFns...)...), nil
}
