package testservers_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

func TestServersServeDynamoDB(t *testing.T) {
	starters := map[string]func(testing.TB) string{
		"embedded": testservers.Embedded,
		"moto":     testservers.Moto,
		"dynalite": testservers.Dynalite,
	}

	for name, start := range starters {
		t.Run(name, func(t *testing.T) {
			endpoint := start(t)
			assertLoopback(t, endpoint)

			db := dynamodb.NewFromConfig(testservers.Config(endpoint))
			createTable(t, db, "servers-"+name)

			// DescribeTable, not ListTables, because minidyn has no ListTables.
			out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("servers-" + name)})
			if err != nil {
				t.Fatalf("DescribeTable: %v", err)
			}

			if got := aws.ToString(out.Table.TableName); got != "servers-"+name {
				t.Errorf("DescribeTable returned table %q, want servers-%s", got, name)
			}
		})
	}
}

func TestSharedServerStartsOnce(t *testing.T) {
	starters := map[string]func(testing.TB) string{
		"moto":     testservers.Moto,
		"dynalite": testservers.Dynalite,
	}

	for name, start := range starters {
		t.Run(name, func(t *testing.T) {
			first := start(t)
			second := start(t)

			if first != second {
				t.Errorf("second call returned %s, want the first endpoint %s", second, first)
			}
		})
	}
}

func TestEmbeddedServersAreSeparate(t *testing.T) {
	first := testservers.Embedded(t)
	second := testservers.Embedded(t)

	if first == second {
		t.Fatalf("both calls returned %s, want two servers", first)
	}

	createTable(t, dynamodb.NewFromConfig(testservers.Config(first)), "only-in-first")

	db := dynamodb.NewFromConfig(testservers.Config(second))
	_, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("only-in-first")})

	if _, ok := errors.AsType[*types.ResourceNotFoundException](err); !ok {
		t.Errorf("DescribeTable on the second server: err = %v, want ResourceNotFoundException", err)
	}
}

func TestConfigUsesStaticCredentials(t *testing.T) {
	cfg := testservers.Config("http://127.0.0.1:1")

	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}

	if creds.AccessKeyID != testservers.AccessKeyID {
		t.Errorf("AccessKeyID = %q, want %q", creds.AccessKeyID, testservers.AccessKeyID)
	}

	if cfg.Region != "us-east-1" {
		t.Errorf("Region = %q, want us-east-1", cfg.Region)
	}

	if aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Errorf("BaseEndpoint = %q, want http://127.0.0.1:1", aws.ToString(cfg.BaseEndpoint))
	}
}

func assertLoopback(t *testing.T, endpoint string) {
	t.Helper()

	parsed, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}

	if parsed.Hostname() != "127.0.0.1" {
		t.Errorf("endpoint host = %q, want 127.0.0.1", parsed.Hostname())
	}
}

func createTable(t *testing.T, db *dynamodb.Client, name string) {
	t.Helper()

	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
}
