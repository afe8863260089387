package testservers

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Static credentials for the stand-ins. They are the documentation example
// values from AWS, valid nowhere; the stand-ins accept any signed request.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	Region          = "us-east-1"
)

// Credentials returns a provider of the static test credentials.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")
}

// Config builds an SDK configuration that sends every request to endpoint
// with the static test credentials. It is built by hand, not with
// config.LoadDefaultConfig, so no environment variable, shared config file,
// credential chain or instance metadata endpoint is consulted.
//
// Use it with any service client, for example dynamodb.NewFromConfig(cfg).
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  Credentials(),
		BaseEndpoint: aws.String(endpoint),
	}
}
