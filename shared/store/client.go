package store

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// LocalRegion is the region NewLocalClient signs with. Stand-ins such as
// moto keep tables per region, so every local client must use the same one.
const LocalRegion = "us-east-1"

// Static credentials for local stand-ins, which accept any signed request.
// They are the AWS documentation example values, valid nowhere.
const (
	localAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	localSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// NewClient builds the production DynamoDB client from the default AWS
// configuration, so in Lambda the credentials come from the function's role
// through its environment. An empty region leaves the region to the
// environment (AWS_REGION, which Lambda sets). A non-empty endpoint replaces
// the AWS endpoint, for example with a local stand-in.
//
// Loading the configuration makes no network call: credentials are fetched
// on the first request, and the region is never looked up from instance
// metadata because no option here requests it.
//
// Both constructors bound each call's retries and time (see CallBudget).
func NewClient(ctx context.Context, endpoint, region string, opts ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	if region != "" {
		opts = append([]func(*config.LoadOptions) error{config.WithRegion(region)}, opts...)
	}

	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: load AWS config: %w", err)
	}

	return NewClientFromConfig(cfg, endpoint)
}

// NewClientFromConfig builds the production client from an AWS
// configuration that is already loaded, so that the functions load it once
// for all their AWS clients. A non-empty endpoint replaces the AWS endpoint.
func NewClientFromConfig(cfg aws.Config, endpoint string) (*dynamodb.Client, error) {
	if endpoint != "" {
		if err := checkEndpoint(endpoint); err != nil {
			return nil, err
		}

		cfg.BaseEndpoint = aws.String(endpoint)
	}

	return dynamodb.NewFromConfig(cfg, withCallLimits), nil
}

// NewLocalClient builds a client for a local stand-in at endpoint, signed
// with static example credentials in LocalRegion. It reads no environment
// variable or config file and never consults the default credential chain.
func NewLocalClient(endpoint string) (*dynamodb.Client, error) {
	if err := checkEndpoint(endpoint); err != nil {
		return nil, err
	}

	cfg := aws.Config{
		Region:       LocalRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(localAccessKeyID, localSecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}

	return dynamodb.NewFromConfig(cfg, withCallLimits), nil
}

// NewClientFromEnv picks the client for the DYNAMODB_ENDPOINT value passed
// as endpoint:
//   - empty: NewClient, the production client.
//   - set, and AWS credentials are in the environment: NewClient with that
//     endpoint, so a function that has a role keeps signing with it.
//   - set, and no AWS credentials in the environment: NewLocalClient, so a
//     local run against a stand-in needs no AWS account or profile.
//
// Credentials count as present when AWS_ACCESS_KEY_ID, AWS_PROFILE,
// AWS_WEB_IDENTITY_TOKEN_FILE or a container credentials variable is set.
func NewClientFromEnv(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	if endpoint == "" || credentialsInEnv() {
		return NewClient(ctx, endpoint, "")
	}

	return NewLocalClient(endpoint)
}

// UsesLocalClient reports whether NewClientFromEnv would pick the local
// client for endpoint: a stand-in endpoint with no AWS credentials in the
// environment.
func UsesLocalClient(endpoint string) bool {
	return endpoint != "" && !credentialsInEnv()
}

func credentialsInEnv() bool {
	names := []string{
		"AWS_ACCESS_KEY_ID",
		"AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	}

	for _, name := range names {
		if os.Getenv(name) != "" {
			return true
		}
	}

	return false
}

// checkEndpoint rejects an endpoint the SDK would fail on later with a less
// helpful message.
func checkEndpoint(endpoint string) error {
	parsed, err := url.Parse(endpoint)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("store: invalid DynamoDB endpoint %q: want an absolute http or https URL such as http://127.0.0.1:8000", endpoint)
	}

	return nil
}
